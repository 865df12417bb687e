export {
  RuleManager,
  type AlertChange,
  type AlertStatePort,
  type RuleHealth,
  type RuleManagerOptions,
} from './RuleManager.js';
export {
  compileRuleGroups,
  type AlertingRule,
  type RecordingRule,
  type RuleGroupSpec,
} from './ruleGroups.js';
export { runUnitTestFile, type UnitTestFileResult } from './unitTest.js';
export { checkRuleFile, formatRuleProblem, type RuleFileCheck, type RuleProblem } from './ruleCheck.js';
