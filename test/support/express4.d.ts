// `express4` is Express 4 installed under an alias; its API is what these tests use of Express 5.
declare module 'express4' {
  import express from 'express';
  export default express;
}
