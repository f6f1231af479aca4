/** The service's own error types: each knows its status and its JSON body. */

export interface ErrorReplyBody {
  error: string
  key?: string
}

export class HttpError extends Error {
  readonly statusCode: number
  readonly body: ErrorReplyBody

  constructor(statusCode: number, body: ErrorReplyBody) {
    super(body.error)
    this.statusCode = statusCode
    this.body = body
  }
}

export class RedisUnavailableError extends HttpError {
  constructor(cause?: unknown) {
    super(503, { error: 'Redis unavailable' })
    this.cause = cause
  }
}

export class StoredValueNotJsonError extends HttpError {
  constructor(key: string) {
    super(502, { error: 'Stored value is not JSON', key })
  }
}
