import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/index.js';
import { errorMessage } from '../core/index.js';
import type { AuditPort, LoadBalancerDirectory, RunExecutor } from '../runbooks/index.js';
import type { Agent } from '../store/index.js';

/** What registering agents into pools uses. */
export interface AgentRegistrationOptions {
  readonly config: () => LoadedConfig;
  readonly lbs: LoadBalancerDirectory;
  readonly executor: Pick<RunExecutor, 'start'>;
  readonly audit: AuditPort;
  readonly logger: Logger;
}

/** The audit actor of registrations. */
export const REGISTRATION_ACTOR = 'agent-registration';

/**
 * swas.yaml `agents.register`: an agent that connects and matches a rule joins the rule's pool as a member
 * named after it, at the address it connects from — added in maint with health checks running — and the
 * rule's runbook (guards, ramp, verification, undo) brings it into rotation. A member that already exists
 * is left alone, so a reconnect changes nothing; an agent that goes away is left to the runbooks.
 */
export class AgentRegistration {
  private readonly busy = new Set<string>();

  constructor(private readonly options: AgentRegistrationOptions) {}

  /** Handles an agent that said hello; never throws (failures are logged and audited). */
  async handle(agent: Agent, remoteAddress: string | null): Promise<void> {
    if (this.busy.has(agent.name)) return;
    this.busy.add(agent.name);
    try {
      const { config, runbooks } = this.options.config();
      const labels: Record<string, string> = { ...agent.labels, agent: agent.name };
      for (const rule of config.agents.register) {
        if (!Object.entries(rule.match).every(([k, v]) => labels[k] === v)) continue;
        const runbook = runbooks.find((r) => r.runbook.name === rule.runbook)?.runbook;
        await this.register(agent, remoteAddress, rule, runbook ?? null, labels);
      }
    } catch (error) {
      this.options.logger.error(
        { agent: agent.name, err: error },
        'registering an agent into its pools failed',
      );
    } finally {
      this.busy.delete(agent.name);
    }
  }

  private async register(
    agent: Agent,
    remoteAddress: string | null,
    rule: LoadedConfig['config']['agents']['register'][number],
    runbook: LoadedConfig['runbooks'][number]['runbook'] | null,
    labels: Record<string, string>,
  ): Promise<void> {
    const { pool } = rule;
    const target = `${pool}/${agent.name}`;
    const lb = this.options.lbs.forPool(pool);
    const address = plainAddress(remoteAddress);
    if (lb?.addMember === undefined || address === null || runbook === null) {
      const why =
        lb === null
          ? `no load balancer serves pool ${pool}`
          : lb.addMember === undefined
            ? `load balancer ${lb.name} cannot add members at runtime`
            : address === null
              ? 'the agent’s address is unknown'
              : `runbook ${rule.runbook} is not loaded`;
      this.options.logger.warn({ agent: agent.name, pool }, `agent not registered: ${why}`);
      return;
    }
    if ((await lb.listMembers(pool)).some((m) => m.name === agent.name)) return;
    const member = {
      name: agent.name,
      address,
      port: rule.port,
      weight: rule.weight,
      slowstartMs: rule.slowstart,
    };
    const reason = `agent ${agent.name} connected and matches agents.register for pool ${pool}`;
    try {
      await lb.addMember(pool, member);
    } catch (error) {
      await this.audit(target, reason, { asked: member }, `error: ${errorMessage(error)}`);
      throw error;
    }
    await this.audit(target, reason, { admin: 'maint', address, port: rule.port, weight: rule.weight }, 'ok');
    const started = await this.options.executor.start(runbook, {
      labels: { ...labels, pool, member: agent.name },
      incidentId: null,
      trigger: { registration: agent.name },
    });
    if (started.started)
      this.options.logger.info(
        { agent: agent.name, pool, run: started.run.id },
        'agent added to its pool; bringing it in',
      );
    else
      this.options.logger.warn(
        { agent: agent.name, pool, reason: started.reason },
        'agent added to its pool in maint, but its runbook did not start; it stays out until someone brings it in',
      );
  }

  private async audit(target: string, reason: string, after: unknown, result: string): Promise<void> {
    await this.options.audit.record({
      actor: REGISTRATION_ACTOR,
      action: 'lb.add',
      target,
      reason,
      before: null,
      after,
      result,
    });
  }
}

// Node reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d; load balancers want the IPv4 address.
function plainAddress(address: string | null): string | null {
  if (address === null) return null;
  const mapped = /^::ffff:(.+)$/i.exec(address)?.[1];
  return mapped !== undefined && isIPv4(mapped) ? mapped : address;
}
