// Who holds a lock or writes a partial file: a process and a thread. In Lambda Managed Instances
// the worker threads of one process share a pid and the directory, so the thread id is part of it.
import { threadId } from './node-builtins.ts'

export interface Owner {
  pid: number
  threadId: number
  token: string
}

export const currentOwner = (token: string): Owner => ({ pid: process.pid, threadId, token })

/** Whether a process with this id exists (EPERM: it exists, run by someone else). */
export const isProcessAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
