#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Stop and unregister RiskManagerDaemon: runs `risk-admin uninstall-daemon` with the given Python.
.DESCRIPTION
    The commands are the uninstall plan of risk_manager/service/plan.py (-DryRun prints them):
    stop, remove the service and its Safe Mode entry. Config (with secrets) and state are kept
    unless you answer yes at the prompts, or pass -Yes -DeleteData. Logs are always kept.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Python,
    [string]$HomeDir = (Join-Path $env:ProgramData 'RiskManager'),
    [string]$Nssm = '',
    [switch]$DeleteData,
    [switch]$DryRun,
    [switch]$Yes
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'common.ps1')

$pythonExe = Resolve-AbsoluteExe $Python 'python.exe'
$arguments = @('uninstall-daemon', '--home', $HomeDir)
if ($Nssm) { $arguments += @('--nssm', (Resolve-AbsoluteExe $Nssm 'nssm.exe')) }
if ($DeleteData) { $arguments += '--delete-data' }
if ($DryRun) { $arguments += '--dry-run' }
if ($Yes) { $arguments += '--yes' }
Invoke-RiskAdmin $pythonExe $arguments
