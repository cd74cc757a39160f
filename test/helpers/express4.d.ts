// Express 4, installed as the `express4` alias for the compatibility test; same API as the typed Express.
declare module 'express4' {
  import express from 'express';
  export default express;
}
