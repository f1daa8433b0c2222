using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace CoapEnroll.Transport;

/// <summary>
/// Batched datagram I/O on a Linux socket: <c>recvmmsg</c> fetches every datagram already queued (up to <see cref="Capacity"/>)
/// in one system call, blocking only for the first, and <c>sendmmsg</c> sends the replies queued meanwhile in one call. The
/// message headers, addresses and payloads live in pinned arrays that the kernel reads and writes directly, so a datagram
/// costs neither an allocation nor a system call of its own. 64-bit little-endian Linux only (<see cref="IsSupported"/>):
/// the structure layouts below are that ABI's. Used by one thread at a time, the socket's receive thread.
/// </summary>
internal sealed class LinuxDatagramBatch
{
    public const int Capacity = 16;

    // A datagram never exceeds 65,507 bytes over IPv4, so a receive slot never truncates one; the array is not zeroed, and
    // only the pages the kernel writes get memory.
    private const int ReceiveSlotSize = 65536;
    private const int SendSlotSize = 2048;
    private const int SendCapacity = 32;

    // struct mmsghdr { struct msghdr msg_hdr; unsigned msg_len; } on LP64: 64 bytes.
    private const int HeaderSize = 64;
    private const int NameOffset = 0;
    private const int NameLengthOffset = 8;
    private const int IovOffset = 16;
    private const int IovLengthOffset = 24;
    private const int FlagsOffset = 48;
    private const int MessageLengthOffset = 56;
    private const int IovSize = 16;

    // Room for a sockaddr_in6 (28 bytes).
    private const int NameSize = 32;
    private const int MaxNameLength = 28;

    // A sockaddr_in is 16 bytes; anything shorter is no IP sender address.
    private const int MinNameLength = 16;

    private const int MsgTrunc = 0x20;
    private const int MsgWaitForOne = 0x10000;
    private const int EIntr = 4;

    private readonly Socket _socket;
    private readonly Messages _received = new(Capacity, ReceiveSlotSize, uninitialized: true);
    private readonly Messages _sends = new(SendCapacity, SendSlotSize, uninitialized: false);
    private int _receivedCount;
    private int _sendCount;

    public LinuxDatagramBatch(Socket socket)
    {
        _socket = socket;
        for (int i = 0; i < Capacity; i++)
        {
            _received.Prepare(i, ReceiveSlotSize);
        }
    }

    public static bool IsSupported => OperatingSystem.IsLinux() && IntPtr.Size == 8 && BitConverter.IsLittleEndian;

    /// <summary>Datagrams queued for <see cref="Flush"/>.</summary>
    public int PendingSends => _sendCount;

    /// <summary>
    /// Waits for at least one datagram and takes all that are queued, up to <see cref="Capacity"/>. Returns how many, 0 when
    /// the socket was shut down (disposed) or the call was interrupted; throws <see cref="SocketException"/> for other errors.
    /// </summary>
    public int Receive()
    {
        for (int i = 0; i < _receivedCount; i++)
        {
            _received.ResetName(i);
        }

        _receivedCount = 0;
        bool added = false;
        SafeHandle handle = _socket.SafeHandle;
        try
        {
            handle.DangerousAddRef(ref added);
            int count = NativeMethods.RecvMmsg((int)handle.DangerousGetHandle(), _received.HeadersAddress, Capacity, MsgWaitForOne, IntPtr.Zero);
            if (count < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                return errno == EIntr ? 0 : throw new SocketException(errno);
            }

            _receivedCount = count;
            return count;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// The <paramref name="index"/>th datagram of the last <see cref="Receive"/>; false when the kernel truncated it or gave no
    /// sender address (what a socket shut down under the call reports).
    /// </summary>
    public bool TryGetReceived(int index, SocketAddress address, out ReadOnlySpan<byte> datagram)
    {
        int length = _received.MessageLength(index);
        datagram = _received.Data(index, length);
        int nameLength = _received.NameLength(index);
        if (nameLength < MinNameLength)
        {
            return false;
        }

        address.Size = nameLength;
        _received.Name(index, nameLength).CopyTo(address.Buffer.Span);
        return (_received.Flags(index) & MsgTrunc) == 0;
    }

    /// <summary>Queues a datagram; false when it does not fit a slot or the address is not an IP socket address (send it directly).</summary>
    public bool TryQueue(ReadOnlySpan<byte> datagram, SocketAddress address)
    {
        if (datagram.Length > SendSlotSize || address.Size > MaxNameLength)
        {
            return false;
        }

        if (_sendCount == SendCapacity)
        {
            Flush();
        }

        int i = _sendCount++;
        datagram.CopyTo(_sends.Data(i, datagram.Length));
        address.Buffer.Span[..address.Size].CopyTo(_sends.Name(i, address.Size));
        _sends.Prepare(i, datagram.Length);
        _sends.SetNameLength(i, address.Size);
        return true;
    }

    /// <summary>
    /// Sends what is queued. A datagram the kernel refuses (an ICMP error of an earlier send, no buffer space) is dropped, as
    /// UDP may; stops at once when the socket is gone.
    /// </summary>
    public void Flush()
    {
        int start = 0;
        int count = _sendCount;
        _sendCount = 0;
        bool added = false;
        SafeHandle handle = _socket.SafeHandle;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            while (start < count)
            {
                int sent = NativeMethods.SendMmsg(fd, _sends.HeadersAddress + (start * HeaderSize), (uint)(count - start), 0);
                if (sent > 0)
                {
                    start += sent;
                }
                else if (Marshal.GetLastPInvokeError() != EIntr)
                {
                    // The first of the remaining datagrams failed; UDP gives no guarantee, so go on with the next.
                    start++;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed: nothing more goes out.
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>An array of mmsghdr with one iovec, one address and one data slot each, all pinned.</summary>
    private sealed class Messages
    {
        private readonly byte[] _headers;
        private readonly byte[] _iovs;
        private readonly byte[] _names;
        private readonly byte[] _data;
        private readonly int _slotSize;

        public Messages(int count, int slotSize, bool uninitialized)
        {
            _slotSize = slotSize;
            _headers = GC.AllocateArray<byte>(count * HeaderSize, pinned: true);
            _iovs = GC.AllocateArray<byte>(count * IovSize, pinned: true);
            _names = GC.AllocateArray<byte>(count * NameSize, pinned: true);
            _data = uninitialized ? GC.AllocateUninitializedArray<byte>(count * slotSize, pinned: true) : GC.AllocateArray<byte>(count * slotSize, pinned: true);
            HeadersAddress = Marshal.UnsafeAddrOfPinnedArrayElement(_headers, 0);
            for (int i = 0; i < count; i++)
            {
                Span<byte> header = _headers.AsSpan(i * HeaderSize, HeaderSize);
                WritePointer(header[NameOffset..], Marshal.UnsafeAddrOfPinnedArrayElement(_names, i * NameSize));
                BinaryPrimitives.WriteInt32LittleEndian(header[NameLengthOffset..], MaxNameLength);
                WritePointer(header[IovOffset..], Marshal.UnsafeAddrOfPinnedArrayElement(_iovs, i * IovSize));
                BinaryPrimitives.WriteInt64LittleEndian(header[IovLengthOffset..], 1);
                WritePointer(_iovs.AsSpan(i * IovSize), Marshal.UnsafeAddrOfPinnedArrayElement(_data, i * slotSize));
            }
        }

        public IntPtr HeadersAddress { get; }

        /// <summary>Sets the slot's iovec length (how much to receive into it, or how much of it to send).</summary>
        public void Prepare(int index, int length) => BinaryPrimitives.WriteInt64LittleEndian(_iovs.AsSpan((index * IovSize) + 8), length);

        public void ResetName(int index) => SetNameLength(index, MaxNameLength);

        public void SetNameLength(int index, int length) => BinaryPrimitives.WriteInt32LittleEndian(_headers.AsSpan((index * HeaderSize) + NameLengthOffset), length);

        public int NameLength(int index) => Math.Min(BinaryPrimitives.ReadInt32LittleEndian(_headers.AsSpan((index * HeaderSize) + NameLengthOffset)), MaxNameLength);

        public int Flags(int index) => BinaryPrimitives.ReadInt32LittleEndian(_headers.AsSpan((index * HeaderSize) + FlagsOffset));

        public int MessageLength(int index) => (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(_headers.AsSpan((index * HeaderSize) + MessageLengthOffset)), (uint)_slotSize);

        public Span<byte> Name(int index, int length) => _names.AsSpan(index * NameSize, length);

        public Span<byte> Data(int index, int length) => _data.AsSpan(index * _slotSize, length);

        private static void WritePointer(Span<byte> destination, IntPtr pointer) => BinaryPrimitives.WriteInt64LittleEndian(destination, pointer.ToInt64());
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int RecvMmsg(int fd, IntPtr messages, uint count, int flags, IntPtr timeout);

        [DllImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int SendMmsg(int fd, IntPtr messages, uint count, int flags);
    }
}
