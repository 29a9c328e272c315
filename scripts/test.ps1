# The whole test suite in one command (Windows PowerShell); pytest options pass through.
. (Join-Path $PSScriptRoot "_venv.ps1")
Write-Host "Running the test suite (the whole suite takes about 7 minutes on 2 cores)..."
$watch = [Diagnostics.Stopwatch]::StartNew()
& $venvPython -m pytest @args
$code = $LASTEXITCODE
Write-Host ("Test suite finished in {0}m {1}s (exit code {2})" -f [int][Math]::Floor($watch.Elapsed.TotalMinutes), $watch.Elapsed.Seconds, $code)
exit $code
