import { SovendusConfigError } from '../../src/index.js';

/** The `SovendusConfigError` that `build` throws; fails the test if it throws none. */
export function configError(build: () => unknown): SovendusConfigError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(SovendusConfigError);
    return error as SovendusConfigError;
  }
  throw new Error('expected a SovendusConfigError');
}
