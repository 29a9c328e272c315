# Dot-sourced by the scripts here: create .venv with the project installed (once).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$python = if ($env:PYTHON) { $env:PYTHON } else { "py" }
$pyArgs = if ($python -eq "py") { @("-3") } else { @() }
$hash = (Get-FileHash pyproject.toml -Algorithm SHA256).Hash.Substring(0, 12)
$stamp = ".venv\.installed-$hash"
if (-not (Test-Path $stamp)) {
    Write-Host "Setting up .venv (first run only)..."
    & $python @pyArgs -m venv .venv
    & .venv\Scripts\python.exe -m pip install --quiet --upgrade pip
    & .venv\Scripts\python.exe -m pip install --quiet -e ".[test]"
    New-Item -ItemType File $stamp | Out-Null
}
$venvPython = (Resolve-Path ".venv\Scripts\python.exe").Path
