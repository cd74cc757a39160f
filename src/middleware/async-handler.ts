import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Wraps an async handler so that a rejection reaches `next(err)` explicitly (Express 4 does not
 * catch rejected promises; Express 5 would).
 */
export function asyncHandler(fn: (req: Request, res: Response, next: NextFunction) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res, next).catch(next);
  };
}
