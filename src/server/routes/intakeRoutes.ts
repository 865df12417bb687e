import type { FastifyInstance } from 'fastify';
import { errorMessage, InputError } from '../../core/index.js';
import { AlertmanagerIntake, parseAlertmanagerPayload } from '../../incidents/index.js';
import type { ServerParts } from '../ServerParts.js';

// A group notification of Alertmanager can list thousands of alerts with their annotations.
const INTAKE_BODY_LIMIT = 8 * 1024 * 1024;

/**
 * `POST /api/v1/intake/alertmanager`: an existing Alertmanager sends its alerts to swas through a
 * `webhook_config` receiver with `http_config.authorization.credentials` set to an operator token.
 */
export function intakeRoutes(app: FastifyInstance, parts: ServerParts): void {
  const intake = AlertmanagerIntake.create({
    sink: { handleAlertChange: (change) => parts.incidents.handleAlertChange(change) },
    now: parts.now,
  });

  // Own JSON parser in this scope: a bad body gets 400 with the parser's reason (where it broke).
  void app.register((scope, _options, done) => {
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: INTAKE_BODY_LIMIT },
      (_request, text, parsed) => {
        try {
          // `__proto__` keys are dropped so a label named so cannot reach an object's prototype.
          parsed(
            null,
            JSON.parse(String(text), (key, value: unknown) => (key === '__proto__' ? undefined : value)),
          );
        } catch (error) {
          parsed(
            new InputError(
              'SWAS-INTAKE-001',
              `invalid Alertmanager webhook body: not valid JSON (${errorMessage(error)}); send Alertmanager's webhook payload`,
            ),
            undefined,
          );
        }
      },
    );
    scope.post(
      '/api/v1/intake/alertmanager',
      { config: { role: 'operator' }, bodyLimit: INTAKE_BODY_LIMIT },
      async (request) => {
        const result = parseAlertmanagerPayload(request.body);
        if (!result.ok)
          throw new InputError('SWAS-INTAKE-002', `invalid Alertmanager webhook body: ${result.error}`);
        const { received, firing, resolved, forwarded } = await intake.receive(result.payload);
        parts.logger.debug(
          { receiver: result.payload.receiver, groupKey: result.payload.groupKey, received, forwarded },
          'alertmanager webhook received',
        );
        return { status: 'success', data: { received, firing, resolved, forwarded } };
      },
    );
    done();
  });
}
