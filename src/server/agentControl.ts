import type { SwasConfig } from '../config/index.js';
import { errorMessage } from '../core/index.js';
import {
  LocalHostControl,
  LocalServiceControl,
  type HostControl,
  type ServiceControl,
  type ServiceOutcome,
  type ServiceVerb,
} from '../runbooks/index.js';
import { AgentActionError, type AgentHub } from './agentLink.js';

/** What an agent-run verb needs: the agent, the action name in its allow-list, and a timeout. */
interface AgentVerbs {
  readonly agent: string;
  readonly actions: Partial<Record<ServiceVerb | 'reboot', string>>;
  readonly timeoutMs: number;
}

type Outcome =
  | { ok: true; output: string; durationMs: number }
  | { ok: false; error: string; output: string; durationMs: number; exitCode: number | null };

// Asks the agent to run the action; a refusal, a failure or a lost agent is an outcome, never a throw.
async function runOnAgent(
  hub: AgentHub | null,
  spec: AgentVerbs,
  action: string,
  what: string,
  disconnectIsOk: boolean,
): Promise<Outcome> {
  const started = Date.now();
  if (hub === null)
    return { ok: false, error: 'agents are not available yet', output: '', durationMs: 0, exitCode: null };
  try {
    const result = await hub.sendAction(spec.agent, { name: action, timeoutMs: spec.timeoutMs });
    if (result.ok) return { ok: true, output: result.output, durationMs: result.durationMs };
    return {
      ok: false,
      error: `agent ${spec.agent}, action ${action} (${what}): ${result.error ?? `exit code ${String(result.exitCode)}`}`,
      output: result.output,
      durationMs: result.durationMs,
      exitCode: result.exitCode,
    };
  } catch (error) {
    // A reboot takes the agent down with the host: losing it after the request went out is the expected answer.
    if (disconnectIsOk && error instanceof AgentActionError && error.code === 'SWAS-AGENT-002')
      return {
        ok: true,
        output: `agent ${spec.agent} disconnected after the request, as a rebooting host does`,
        durationMs: Date.now() - started,
      };
    return {
      ok: false,
      error: `agent ${spec.agent}, action ${action} (${what}): ${errorMessage(error)}`,
      output: '',
      durationMs: Date.now() - started,
      exitCode: null,
    };
  }
}

/**
 * Service verbs from swas.yaml `services:`: on the server (argv), or on an agent (`agent:` and an action
 * name the agent's own allow-list must hold; the agent refuses anything else).
 */
export class RoutedServiceControl implements ServiceControl {
  private readonly local: LocalServiceControl;
  private readonly onAgents = new Map<string, AgentVerbs>();

  constructor(
    config: SwasConfig,
    private readonly hub: () => AgentHub | null,
  ) {
    const local: ConstructorParameters<typeof LocalServiceControl>[0] = {};
    for (const [name, s] of Object.entries(config.services)) {
      if (s.agent !== undefined)
        this.onAgents.set(name, {
          agent: s.agent,
          actions: { restart: asName(s.restart), start: asName(s.start), stop: asName(s.stop) },
          timeoutMs: s.timeout,
        });
      else
        (local as Record<string, unknown>)[name] = {
          restart: asArgv(s.restart),
          start: asArgv(s.start),
          stop: asArgv(s.stop),
          timeoutMs: s.timeout,
        };
    }
    this.local = new LocalServiceControl(local);
  }

  has(service: string, verb: ServiceVerb): boolean {
    const onAgent = this.onAgents.get(service);
    return onAgent === undefined ? this.local.has(service, verb) : onAgent.actions[verb] !== undefined;
  }

  async run(service: string, verb: ServiceVerb, signal: AbortSignal): Promise<ServiceOutcome> {
    const spec = this.onAgents.get(service);
    if (spec === undefined) return this.local.run(service, verb, signal);
    const action = spec.actions[verb];
    if (action === undefined)
      return {
        ok: false,
        error: `service "${service}" declares no ${verb} action`,
        output: '',
        durationMs: 0,
      };
    const outcome = await runOnAgent(this.hub(), spec, action, `${verb} ${service}`, false);
    return outcome.ok
      ? { ok: true, exitCode: 0, output: outcome.output, durationMs: outcome.durationMs }
      : { ok: false, error: outcome.error, output: outcome.output, durationMs: outcome.durationMs };
  }
}

/** Host reboots from swas.yaml `hosts:`: an argv on the server, or an action of the host's agent. */
export class RoutedHostControl implements HostControl {
  private readonly local: LocalHostControl;
  private readonly onAgents = new Map<string, AgentVerbs>();

  constructor(
    config: SwasConfig,
    private readonly hub: () => AgentHub | null,
  ) {
    const local: Record<string, { reboot: readonly string[]; timeoutMs: number }> = {};
    for (const [name, h] of Object.entries(config.hosts)) {
      if (h.agent !== undefined)
        this.onAgents.set(name, {
          agent: h.agent,
          actions: { reboot: asName(h.reboot) },
          timeoutMs: h.timeout,
        });
      else local[name] = { reboot: asArgv(h.reboot) ?? [], timeoutMs: h.timeout };
    }
    this.local = new LocalHostControl(local);
  }

  has(host: string): boolean {
    return this.onAgents.has(host) || this.local.has(host);
  }

  async reboot(host: string, signal: AbortSignal): ReturnType<HostControl['reboot']> {
    const spec = this.onAgents.get(host);
    if (spec === undefined) return this.local.reboot(host, signal);
    const outcome = await runOnAgent(this.hub(), spec, spec.actions.reboot ?? '', `reboot ${host}`, true);
    return outcome.ok ? { ...outcome, exitCode: 0 } : outcome;
  }
}

// The schema guarantees the shape per `agent:`; these narrow it for each side.
function asName(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asArgv(value: string | readonly string[] | undefined): readonly string[] | undefined {
  return typeof value === 'string' ? undefined : value;
}
