#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Stop and unregister RiskManagerDaemon: the same steps as `risk-admin uninstall-daemon`.
.DESCRIPTION
    Config (with secrets) and state are kept unless -DeleteConfig / -DeleteState is given;
    without them the script asks. Logs are always kept.
#>
[CmdletBinding()]
param(
    [string]$HomeDir = (Join-Path $env:ProgramData 'RiskManager'),
    [string]$Nssm = '',
    [string]$ServiceName = 'RiskManagerDaemon',
    [switch]$DeleteConfig,
    [switch]$DeleteState,
    [switch]$Yes
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'common.ps1')

$nssmExe = Find-Nssm $Nssm
if (-not (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)) {
    throw "$ServiceName is not installed"
}
if (-not $Yes) {
    if (-not $DeleteConfig) { $DeleteConfig = (Read-Host 'Delete configuration files? [y/n]') -eq 'y' }
    if (-not $DeleteState) { $DeleteState = (Read-Host 'Delete state files? [y/n]') -eq 'y' }
}

Invoke-Step 'Stop the daemon' $nssmExe @('stop', $ServiceName) -NonFatal
Invoke-Step 'Remove the service' $nssmExe @('remove', $ServiceName, 'confirm')
$delete = @()
if ($DeleteConfig) { $delete += 'config', 'secrets' }
if ($DeleteState) { $delete += 'state' }
foreach ($sub in $delete) {
    $target = Join-Path $HomeDir $sub
    if (Test-Path -LiteralPath $target) {
        Write-Host "- Delete $sub\"
        Remove-Item -LiteralPath $target -Recurse -Force
    }
}
if ($DeleteConfig -and $DeleteState) { Write-Host 'Service uninstalled.' }
else { Write-Host 'Service uninstalled. Configuration preserved.' }
