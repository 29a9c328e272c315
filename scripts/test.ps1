# The whole test suite in one command (Windows PowerShell); pytest options pass through.
. (Join-Path $PSScriptRoot "_venv.ps1")
Write-Host "Running the test suite (about 910 tests: some 6 minutes on an idle 2-core machine)..."
$watch = [Diagnostics.Stopwatch]::StartNew()
# With no arguments test files run three at a time: most tests wait on real daemons, not the CPU.
if ($args.Count -eq 0) { & $venvPython -m pytest -n 3 --dist loadfile } else { & $venvPython -m pytest @args }
$code = $LASTEXITCODE
Write-Host ("Test suite finished in {0}m {1}s (exit code {2})" -f [int][Math]::Floor($watch.Elapsed.TotalMinutes), $watch.Elapsed.Seconds, $code)
exit $code
