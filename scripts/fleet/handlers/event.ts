// What the fleet sends each function and what it answers.
export interface FleetEvent {
  // Server-side work per invocation (SLEEP), so that invocations overlap as real ones do.
  workMs: number
}

export interface FleetResult {
  // CONNECTION_ID() of the session the statement ran on.
  threadId: number
}
