# Shared helpers for install.ps1 / uninstall.ps1 (dot-sourced). The scripts run the plan of
# risk_manager/service/plan.py through risk-admin, so they cannot say anything else than it.

# Quote one argument for CreateProcess exactly as risk_manager.service.cmdline.quote_arg does.
function ConvertTo-NativeArgument([string]$Arg) {
    if ($Arg.Length -gt 0 -and $Arg -notmatch '[\s"]') { return $Arg }
    $out = '"'
    $backslashes = 0
    foreach ($char in $Arg.ToCharArray()) {
        if ($char -eq '\') { $backslashes++; continue }
        if ($char -eq '"') { $out += ('\' * (2 * $backslashes + 1)) + '"' }
        else { $out += ('\' * $backslashes) + $char }
        $backslashes = 0
    }
    return $out + ('\' * (2 * $backslashes)) + '"'
}

# An executable by absolute path only: never the first one on PATH (possibly the Microsoft
# Store's python.exe alias), never one in the current directory.
function Resolve-AbsoluteExe([string]$Path, [string]$What) {
    if (-not [System.IO.Path]::IsPathRooted($Path)) {
        throw "$What must be given as an absolute path, got '$Path'"
    }
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { throw "$What not found at $Path" }
    return (Resolve-Path -LiteralPath $Path).Path
}

# Run `python.exe -I -m cli.admin ARGS` with an exact command line (PowerShell 5.1 and 7.x quote
# arguments with double quotes differently) and exit with its exit code.
function Invoke-RiskAdmin([string]$Python, [string[]]$Arguments) {
    $all = @('-I', '-m', 'cli.admin') + $Arguments
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = $Python
    $info.Arguments = ($all | ForEach-Object { ConvertTo-NativeArgument $_ }) -join ' '
    $info.UseShellExecute = $false
    Write-Verbose "$Python $($info.Arguments)"
    $process = [System.Diagnostics.Process]::Start($info)
    $process.WaitForExit()
    exit $process.ExitCode
}
