import type { STEP_ACTIONS } from '../../config/index.js';
import { approve } from './approve.js';
import { hostReboot } from './hostReboot.js';
import { httpCall } from './httpStep.js';
import { drainMember, maintMember, readyMember, weighMember } from './lbSteps.js';
import { notify, page } from './notifySteps.js';
import { runCommand } from './runCommand.js';
import { serviceStep } from './serviceSteps.js';
import type { StepHandler } from './StepContext.js';
import { verify } from './verify.js';
import { waitUntil } from './waitUntil.js';

/** The step library: every action a runbook may name. */
export const STEP_HANDLERS: Readonly<Record<(typeof STEP_ACTIONS)[number], StepHandler>> = {
  'lb.drain': drainMember,
  'lb.maint': maintMember,
  'lb.ready': readyMember,
  'lb.weight': weighMember,
  'service.restart': serviceStep('restart'),
  'service.start': serviceStep('start'),
  'service.stop': serviceStep('stop'),
  'wait.until': waitUntil,
  verify,
  http: httpCall,
  notify,
  page,
  approve,
  run: runCommand,
  'host.reboot': hostReboot,
};

export type { StepContext, StepHandler, StepOutcome } from './StepContext.js';
