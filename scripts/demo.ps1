# One minute that shows what the daemon does (Windows PowerShell); pass --keep to
# leave the daemon running and its home in place for exploring.
. (Join-Path $PSScriptRoot "_venv.ps1")
& $venvPython -m risk_manager demo @args
exit $LASTEXITCODE
