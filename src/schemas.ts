/** Schemas shared by the routes: the replies are the API's documentation. */
import { type Static, Type } from '@sinclair/typebox'

export const ErrorReply = Type.Object(
  {
    error: Type.String({ description: 'What went wrong, for a person' }),
    key: Type.Optional(Type.String({ description: 'The key at fault, when there is one' })),
  },
  { $id: 'ErrorReply', additionalProperties: false },
)
export type ErrorReply = Static<typeof ErrorReply>

export const StatusReply = Type.Object({ status: Type.String() }, { additionalProperties: false })
export type StatusReply = Static<typeof StatusReply>

/** Any JSON value: stored values pass through whatever their type. */
export const AnyJson = Type.Unknown({ description: 'The stored JSON value; `{}` when missing' })

/** Error replies every route can give: what the error handler produces. */
export const errorResponses = {
  400: ErrorReply,
  404: ErrorReply,
  405: ErrorReply,
  500: ErrorReply,
  502: ErrorReply,
  503: ErrorReply,
} as const
