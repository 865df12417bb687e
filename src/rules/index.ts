export {
  RuleManager,
  type AlertChange,
  type AlertStatePort,
  type RuleHealth,
  type RuleManagerOptions,
} from './RuleManager.js';
export {
  compileRuleGroups,
  GROUP_BROKEN_ALERT,
  GROUP_OVERRUN_ALERT,
  thresholdValueExpr,
  type AlertingRule,
  type BrokenGroup,
  type BrokenRule,
  type RecordingRule,
  type RuleGroupSpec,
} from './ruleGroups.js';
export { UNSEEN_RESOLVE_MS } from './alertInstances.js';
export { runUnitTestFile, type UnitTestFileResult } from './unitTest.js';
export { checkRuleFile, formatRuleProblem, type RuleFileCheck, type RuleProblem } from './ruleCheck.js';
