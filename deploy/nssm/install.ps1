#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Register RiskManagerDaemon with NSSM: runs `risk-admin install-daemon` with the given Python.
.DESCRIPTION
    The commands are the install plan of risk_manager/service/plan.py, run by the same code as
    `risk-admin install-daemon` (-DryRun prints them): lock the home, copy nssm.exe under
    Program Files, register python.exe -I -u -m risk_manager run as LocalSystem, delayed
    auto-start, restart after 10 s / 30 s / 60 s, Safe Mode with Networking, a service DACL
    that leaves regular users query rights only. A failed step rolls back the others.
    Python must be an all-users install (under C:\Program Files) with the package installed by
    an elevated pip: the installer refuses a python.exe or import path non-admins can write.
.EXAMPLE
    .\install.ps1 -Python "C:\Program Files\Python313\python.exe"
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Python,
    [string]$HomeDir = (Join-Path $env:ProgramData 'RiskManager'),
    [string]$Nssm = '',
    [switch]$DryRun,
    [switch]$Yes
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'common.ps1')

$pythonExe = Resolve-AbsoluteExe $Python 'python.exe'
$arguments = @('install-daemon', '--home', $HomeDir, '--python', $pythonExe)
if ($Nssm) { $arguments += @('--nssm', (Resolve-AbsoluteExe $Nssm 'nssm.exe')) }
if ($DryRun) { $arguments += '--dry-run' }
if ($Yes) { $arguments += '--yes' }
Invoke-RiskAdmin $pythonExe $arguments
