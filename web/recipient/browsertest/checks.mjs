// checks.mjs counts the checks of a node test script (crypto.mjs,
// swsink.mjs): check(ok, what) prints "FAIL what" when ok is false, and
// finish() prints "ok N checks" or "FAILED K of N checks" and exits 1 on
// any failure, which the Go test that runs the script reads.
let checks = 0;
let failures = 0;

// check records one check; what names it when it fails.
export function check(ok, what) {
  checks++;
  if (!ok) {
    failures++;
    console.log("FAIL " + what);
  }
}

// finish prints the tally and ends the process.
export function finish() {
  console.log((failures ? "FAILED " + failures + " of " : "ok ") + checks + " checks");
  process.exit(failures ? 1 : 0);
}
