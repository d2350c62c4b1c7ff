import { CliError } from '../errors.js';

/** Why a Hub operation failed; callers branch on this, users read the message. */
export type HubErrorReason = 'offline' | 'unauthorized' | 'not-found' | 'integrity' | 'http' | 'format' | 'usage';

export class HubError extends CliError {
  constructor(
    readonly reason: HubErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}
