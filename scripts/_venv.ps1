# Dot-sourced by the scripts here: create .venv with the project installed (once).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$python = if ($env:PYTHON) { $env:PYTHON } else { "py" }
$pyArgs = if ($python -eq "py") { @("-3") } else { @() }
& $python @pyArgs -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>$null
if ($LASTEXITCODE -ne 0) {
    [Console]::Error.WriteLine("error: Python 3.11 or newer is required (set PYTHON=C:\path\to\python.exe)")
    exit 1
}
$hash = (Get-FileHash pyproject.toml -Algorithm SHA256).Hash.Substring(0, 12)
$stamp = ".venv\.installed-$hash"
if (-not (Test-Path $stamp)) {
    # pip's and the build backend's chatter goes to a log; shown only when something fails.
    $log = ".venv-setup.log"
    Write-Host "Setting up .venv (first run only, about a minute; details in $log)..."
    $steps = @(
        { & $python @pyArgs -m venv .venv },
        { & .venv\Scripts\python.exe -m pip install --quiet --upgrade pip },
        { & .venv\Scripts\python.exe -m pip install --quiet -e ".[test]" }
    )
    Remove-Item $log -ErrorAction SilentlyContinue
    # Windows PowerShell turns a native program's stderr line into a terminating error under
    # "Stop"; native programs report failure by exit code, checked after each step.
    $ErrorActionPreference = "Continue"
    foreach ($step in $steps) {
        & $step *>> $log
        if ($LASTEXITCODE -ne 0) {
            Get-Content $log | Write-Host
            [Console]::Error.WriteLine("error: setting up .venv failed (the output above is in $log)")
            exit 1
        }
    }
    $ErrorActionPreference = "Stop"
    Remove-Item $log
    New-Item -ItemType File $stamp | Out-Null
    Write-Host "  .venv ready"
}
$venvPython = (Resolve-Path ".venv\Scripts\python.exe").Path
