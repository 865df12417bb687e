import { InputError, translateRe2 } from '../../core/index.js';

/**
 * Compiles an RE2 pattern from the agent's config (Prometheus syntax) into a RegExp, or throws an
 * InputError naming the config field so a bad config is refused when it is loaded or pushed.
 */
export function compilePattern(pattern: string, where: string): RegExp {
  const translated = translateRe2(pattern);
  let reason = translated.ok ? null : translated.error;
  if (translated.ok) {
    try {
      return new RegExp(translated.source);
    } catch (error) {
      reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, '');
    }
  }
  throw new InputError(
    'SWAS-AGENT-001',
    `${where}: /${pattern}/ is not a valid regular expression (${reason}); write it in RE2 syntax, e.g. ERROR|FATAL`,
  );
}
