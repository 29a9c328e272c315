#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Register RiskManagerDaemon with NSSM: the same steps as `risk-admin install-daemon`.
.DESCRIPTION
    Runs python.exe -m risk_manager run --home <HomeDir> as LocalSystem, delayed auto-start,
    restart after 10 s / 30 s / 60 s, and a service DACL and folder ACLs that leave regular
    users query / read-logs rights only. `risk-admin install-daemon --dry-run` prints the
    identical commands.
.EXAMPLE
    .\install.ps1 -Python "C:\Program Files\Python313\python.exe"
#>
[CmdletBinding()]
param(
    [string]$HomeDir = (Join-Path $env:ProgramData 'RiskManager'),
    [string]$Python = (Get-Command python.exe -ErrorAction Stop).Source,
    [string]$Nssm = '',
    [string]$ServiceName = 'RiskManagerDaemon',
    [long]$RotateBytes = 10485760
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'common.ps1')

$nssmExe = Find-Nssm $Nssm
$HomeDir = [System.IO.Path]::GetFullPath($HomeDir)
if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
    throw "$ServiceName is already installed; run uninstall.ps1 first"
}
foreach ($sub in 'config', 'state', 'logs', 'secrets') {
    New-Item -ItemType Directory -Force -Path (Join-Path $HomeDir $sub) | Out-Null
}

$log = Join-Path $HomeDir 'logs\service.log'
# nssm joins its AppParameters arguments with spaces: quote the home inside the one string.
$appParameters = '-m risk_manager run --home ' + (ConvertTo-NativeArgument $HomeDir)
$description = 'Professional risk management service for trading accounts. ' +
    'Enforces position limits and loss thresholds in real-time.'

Write-Host 'Registering with Windows Service Manager'
Invoke-Step 'Register the service' $nssmExe @('install', $ServiceName, $Python, $appParameters)

Write-Host 'Creating service configuration'
$settings = @(
    @('DisplayName', 'Risk Manager Daemon'),
    @('Description', $description),
    @('Start', 'SERVICE_DELAYED_AUTO_START'),
    @('ObjectName', 'LocalSystem'),
    @('DependOnService', 'Tcpip', 'Dnscache'),
    @('AppDirectory', $HomeDir),
    @('AppStdout', $log),
    @('AppStderr', $log),
    @('AppStdoutCreationDisposition', '4'),
    @('AppStderrCreationDisposition', '4'),
    @('AppRotateFiles', '1'),
    @('AppRotateOnline', '1'),
    @('AppRotateBytes', "$RotateBytes"),
    @('AppStopMethodSkip', '6'),
    @('AppStopMethodConsole', '30000'),
    @('AppKillProcessTree', '1'),
    @('AppExit', 'Default', 'Exit'),
    @('AppEnvironmentExtra', 'PYTHONUNBUFFERED=1', "RISK_MANAGER_HOME=$HomeDir")
)
foreach ($setting in $settings) {
    Invoke-Step "Set $($setting[0])" $nssmExe (@('set', $ServiceName) + $setting)
}

Write-Host 'Registering recovery actions'
Invoke-Step 'Restart after 10 s, 30 s, 60 s; reset after 1 h' 'sc.exe' @(
    'failure', $ServiceName, 'reset=', '3600', 'actions=', 'restart/10000/restart/30000/restart/60000')
Invoke-Step 'Also restart on a non-zero exit code' 'sc.exe' @('failureflag', $ServiceName, '1')

Write-Host 'Setting permissions (regular user cannot stop)'
# SY/BA full control; IU/SU/AU: CC query config, LC query status, SW enumerate dependents,
# LO interrogate, RC read control. No RP start, WP stop, DT pause, DC config, CR user control.
$full = 'CCDCLCSWRPWPDTLOCRSDRCWDWO'
$query = 'CCLCSWLORC'
$sddl = "D:(A;;$full;;;SY)(A;;$full;;;BA)(A;;$query;;;IU)(A;;$query;;;SU)(A;;$query;;;AU)" +
    "S:(AU;FA;$full;;;WD)"
Invoke-Step 'Service DACL: users may only query' 'sc.exe' @('sdset', $ServiceName, $sddl)
# SIDs, not names: group names are localized. 18 = SYSTEM, 32-544 = Administrators, 32-545 = Users.
Invoke-Step 'Home: SYSTEM and Administrators only' 'icacls.exe' @(
    $HomeDir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F')
foreach ($sub in 'config', 'state', 'secrets', 'logs') {
    Invoke-Step "${sub}: inherit from home only" 'icacls.exe' @(
        (Join-Path $HomeDir $sub), '/reset', '/T', '/C', '/Q')
}
Invoke-Step 'logs: Users may read' 'icacls.exe' @(
    (Join-Path $HomeDir 'logs'), '/grant:r', '*S-1-5-32-545:(OI)(CI)RX')

Write-Host "Installation complete. Start it with: sc.exe start $ServiceName"
