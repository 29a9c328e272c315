# Shared helpers for install.ps1 / uninstall.ps1 (dot-sourced).

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

# Run a native command with an exact command line. PowerShell 5.1 and 7.x quote arguments that
# contain double quotes differently; building the line ourselves behaves the same on both.
function Invoke-Step([string]$Title, [string]$Exe, [string[]]$Arguments, [switch]$NonFatal) {
    $line = ($Arguments | ForEach-Object { ConvertTo-NativeArgument $_ }) -join ' '
    Write-Host "- $Title"
    Write-Verbose "$Exe $line"
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = $Exe
    $info.Arguments = $line
    $info.UseShellExecute = $false
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $process = [System.Diagnostics.Process]::Start($info)
    $output = $process.StandardOutput.ReadToEnd() + $process.StandardError.ReadToEnd()
    $process.WaitForExit()
    if ($process.ExitCode -ne 0) {
        $message = "$Title failed (exit $($process.ExitCode)): $($output.Trim())"
        if ($NonFatal) { Write-Warning $message } else { throw $message }
    }
}

function Find-Nssm([string]$Explicit) {
    if ($Explicit) {
        if (Test-Path -LiteralPath $Explicit -PathType Leaf) { return (Resolve-Path $Explicit).Path }
        throw "nssm.exe not found at $Explicit"
    }
    $onPath = Get-Command nssm.exe -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    throw ('nssm.exe not found; install NSSM 2.24-101 with one of: winget install NSSM.NSSM, ' +
        'choco install nssm, scoop install nssm, or (Python >= 3.13) pip install ' +
        'risk-manager[windows]; or pass -Nssm PATH')
}
