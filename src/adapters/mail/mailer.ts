export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** Sends one message; rejects when the message could not be handed over. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  /** Where messages go, for logs: "smtp://mail.lab:587" or "outbox ./data/outbox". */
  readonly description: string;
}
