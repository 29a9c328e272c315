# The whole test suite in one command (Windows PowerShell).
. (Join-Path $PSScriptRoot "_venv.ps1")
& $venvPython -m pytest @args
exit $LASTEXITCODE
