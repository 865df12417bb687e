import type { Logger } from 'pino';
import type { ServerFrame } from '../agent/index.js';
import { pushedConfigFor, type AgentsSection } from '../config/index.js';

/** An agent as config push sees it: its name and enrolled labels. */
export interface PushTarget {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

interface Refusal {
  readonly version: string;
  readonly error: string;
}

/**
 * Decides which config frame an agent needs (swas.yaml `agents.push`, merged for its labels) and keeps
 * the last refusal per agent for the API. An agent is sent its config only when it runs another version,
 * and not again a version it already refused (it would refuse it again).
 */
export class AgentConfigPush {
  private readonly refusals = new Map<string, Refusal>();

  /** @param section reads the `agents:` section of the config in force (it changes on reload) */
  constructor(
    private readonly section: () => AgentsSection,
    private readonly logger: Logger,
  ) {}

  /** A push that never sends anything (a hub without a config, in tests). */
  static none(logger: Logger): AgentConfigPush {
    return new AgentConfigPush(() => ({ push: [], register: [] }), logger);
  }

  /** The config frame to send an agent running `running` (null: none yet), or null when it is up to date. */
  frameFor(agent: PushTarget, running: string | null): Extract<ServerFrame, { type: 'config' }> | null {
    const pushed = pushedConfigFor(this.section(), agent);
    if (pushed.version === running) return null;
    // An agent that never got a push runs its own agent.yaml, which is what an empty push means too.
    if (running === null && pushed.probes.length === 0 && Object.keys(pushed.config.collectors).length === 0)
      return null;
    if (this.refusals.get(agent.name)?.version === pushed.version) return null;
    return { type: 'config', version: pushed.version, config: pushed.config };
  }

  /** Records an agent's `config_status`; a refusal is logged and kept until it accepts a config. */
  recordStatus(agent: string, status: { version: string; ok: boolean; error: string | null }): void {
    if (status.ok) {
      this.refusals.delete(agent);
      this.logger.info({ agent, configVersion: status.version }, 'agent runs a new pushed config');
      return;
    }
    const error = status.error ?? 'the agent gave no reason';
    this.refusals.set(agent, { version: status.version, error });
    this.logger.warn(
      { agent, configVersion: status.version, error },
      'agent refused a pushed config and keeps its previous one; fix agents.push in swas.yaml and reload',
    );
  }

  /** Why the agent refused the last config pushed to it, or null when it took it. */
  configError(agent: string): string | null {
    const refusal = this.refusals.get(agent);
    return refusal === undefined ? null : `config ${refusal.version}: ${refusal.error}`;
  }
}
