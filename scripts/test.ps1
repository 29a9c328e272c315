# The whole test suite in one command (Windows PowerShell); pytest options pass through.
. (Join-Path $PSScriptRoot "_venv.ps1")
Write-Host "Running the test suite (about 780 tests: some 20 minutes on a busy 2-core machine, less when idle)..."
$watch = [Diagnostics.Stopwatch]::StartNew()
& $venvPython -m pytest @args
$code = $LASTEXITCODE
Write-Host ("Test suite finished in {0}m {1}s (exit code {2})" -f [int][Math]::Floor($watch.Elapsed.TotalMinutes), $watch.Elapsed.Seconds, $code)
exit $code
