// Errors of the data layer. Both carry enough context to fix the problem without a debugger:
// a DataFormatError names the file and what is wrong with it (expected vs actual), a
// MissingDataError says which files to put where.

/** A data file exists but is not what it should be (wrong magic, truncated, bad gzip, ...). */
export class DataFormatError extends Error {
  /** The file at fault. */
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DataFormatError';
    this.file = file;
  }
}

/** A dataset's files are neither in the given folder, nor in the cache, nor downloadable. */
export class MissingDataError extends Error {
  /** The folders that were searched. */
  readonly searched: string[];

  constructor(message: string, searched: string[]) {
    super(message);
    this.name = 'MissingDataError';
    this.searched = searched;
  }
}
