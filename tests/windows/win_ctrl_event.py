"""Windows side: deliver a console control event to another process, the way Windows does.

Windows delivers CTRL_C / CTRL_BREAK / CTRL_CLOSE / CTRL_LOGOFF / CTRL_SHUTDOWN by starting a
thread in the target process at kernel32!CtrlRoutine with the event as its argument; the thread
runs the process's handler chain. GenerateConsoleCtrlEvent can only send Ctrl+C and Ctrl+Break
(and Wine's only Ctrl+C), so this script starts that thread itself. System DLLs sit at the same
address in every process, so this process's CtrlRoutine address is valid in the target.

Usage: python.exe win_ctrl_event.py WINDOWS_PID EVENT  (prints "delivered", exits 0)
"""

import ctypes
import sys
from ctypes import wintypes

PROCESS_ALL_ACCESS = 0x1F0FFF
INFINITE = 0xFFFFFFFF

kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
kernel32.OpenProcess.restype = wintypes.HANDLE
kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
kernel32.GetModuleHandleW.restype = wintypes.HMODULE
kernel32.GetProcAddress.restype = ctypes.c_void_p
kernel32.GetProcAddress.argtypes = (wintypes.HMODULE, ctypes.c_char_p)
kernel32.CreateRemoteThread.restype = wintypes.HANDLE
kernel32.CreateRemoteThread.argtypes = (
    wintypes.HANDLE,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
    ctypes.c_void_p,
    wintypes.DWORD,
    ctypes.c_void_p,
)


def main() -> int:
    pid, event = int(sys.argv[1]), int(sys.argv[2])
    process = kernel32.OpenProcess(PROCESS_ALL_ACCESS, False, pid)
    if not process:
        print(f"OpenProcess({pid}) failed: {ctypes.get_last_error()}")
        return 1
    routine = kernel32.GetProcAddress(kernel32.GetModuleHandleW("kernel32"), b"CtrlRoutine")
    if not routine:
        print("kernel32!CtrlRoutine not found")
        return 1
    thread = kernel32.CreateRemoteThread(process, None, 0, routine, event, 0, None)
    if not thread:
        print(f"CreateRemoteThread failed: {ctypes.get_last_error()}")
        return 1
    kernel32.WaitForSingleObject(thread, INFINITE)
    print("delivered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
