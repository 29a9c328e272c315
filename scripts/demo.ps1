# The main job in one command (Windows PowerShell).
. (Join-Path $PSScriptRoot "_venv.ps1")
& $venvPython -m risk_manager demo @args
exit $LASTEXITCODE
