using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// Receive side of RFC 6347 §4.2.2–4.2.3: buffers handshake fragments that arrive in any order,
/// duplicated or overlapping, and hands out complete messages strictly in message_seq order, each
/// exactly once. Every fragment of one message_seq must agree on msg_type and length; overlapping bytes
/// must be identical. Bounded: at most <c>maxMessageLength</c> per message and <c>maxMessagesAhead</c>
/// future messages buffered. Not thread-safe.
/// <code>
/// while (HandshakeHeader.TryRead(payload, out var h, out var frag, out int n)) { reassembler.Add(h, frag); payload = payload[n..]; }
/// while (reassembler.TryTakeNext(out var msg)) { transcript.Append(msg.Type, msg.MessageSeq, msg.Body); ... }
/// </code>
/// </summary>
internal sealed class HandshakeReassembler
{
    private readonly int _maxMessageLength;
    private readonly int _maxMessagesAhead;
    private readonly Dictionary<ushort, PendingMessage> _pending = [];

    public HandshakeReassembler(ushort nextMessageSeq = 0, int maxMessageLength = 64 * 1024, int maxMessagesAhead = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageLength, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessageLength, HandshakeHeader.MaxLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessagesAhead, 1);
        NextMessageSeq = nextMessageSeq;
        _maxMessageLength = maxMessageLength;
        _maxMessagesAhead = maxMessagesAhead;
    }

    /// <summary>The message_seq of the next message <see cref="TryTakeNext"/> will return.</summary>
    public ushort NextMessageSeq { get; private set; }

    /// <summary>Adds one fragment (as parsed by <see cref="HandshakeHeader.TryRead"/>).</summary>
    public HandshakeFragmentStatus Add(HandshakeHeader header, ReadOnlySpan<byte> fragment)
    {
        if (fragment.Length != header.FragmentLength || (long)header.FragmentOffset + header.FragmentLength > header.Length)
        {
            return HandshakeFragmentStatus.Inconsistent;
        }

        if (header.MessageSeq < NextMessageSeq)
        {
            return HandshakeFragmentStatus.Retransmission;
        }

        if (header.MessageSeq - NextMessageSeq >= _maxMessagesAhead)
        {
            return HandshakeFragmentStatus.TooFarAhead;
        }

        if (header.Length > _maxMessageLength)
        {
            return HandshakeFragmentStatus.TooLarge;
        }

        if (!_pending.TryGetValue(header.MessageSeq, out PendingMessage? message))
        {
            message = new PendingMessage(header.Type, header.Length);
            _pending.Add(header.MessageSeq, message);
        }
        else if (message.Type != header.Type || message.Body.Length != header.Length)
        {
            return HandshakeFragmentStatus.Inconsistent;
        }

        return message.Add(header.FragmentOffset, fragment) ? HandshakeFragmentStatus.Accepted : HandshakeFragmentStatus.Inconsistent;
    }

    /// <summary>Returns the next complete message in order, if there is one, and advances <see cref="NextMessageSeq"/>.</summary>
    public bool TryTakeNext([NotNullWhen(true)] out ReassembledHandshakeMessage? message)
    {
        if (_pending.TryGetValue(NextMessageSeq, out PendingMessage? pending) && pending.IsComplete)
        {
            _pending.Remove(NextMessageSeq);
            message = new ReassembledHandshakeMessage(pending.Type, NextMessageSeq, pending.Body);
            NextMessageSeq++;
            return true;
        }

        message = null;
        return false;
    }

    /// <summary>Drops everything buffered and restarts at <paramref name="nextMessageSeq"/>.</summary>
    public void Reset(ushort nextMessageSeq)
    {
        foreach (PendingMessage pending in _pending.Values)
        {
            CryptographicOperations.ZeroMemory(pending.Body);
        }

        _pending.Clear();
        NextMessageSeq = nextMessageSeq;
    }

    private sealed class PendingMessage(HandshakeType type, int length)
    {
        private readonly byte[] _received = new byte[(length + 7) / 8];
        private int _receivedCount;

        public HandshakeType Type { get; } = type;

        public byte[] Body { get; } = new byte[length];

        public bool IsComplete => _receivedCount == Body.Length;

        public bool Add(int offset, ReadOnlySpan<byte> fragment)
        {
            // First pass: overlapping bytes must match what we already hold.
            for (int i = 0; i < fragment.Length; i++)
            {
                int pos = offset + i;
                if (IsSet(pos) && Body[pos] != fragment[i])
                {
                    return false;
                }
            }

            for (int i = 0; i < fragment.Length; i++)
            {
                int pos = offset + i;
                if (!IsSet(pos))
                {
                    Body[pos] = fragment[i];
                    _received[pos >> 3] |= (byte)(1 << (pos & 7));
                    _receivedCount++;
                }
            }

            return true;
        }

        private bool IsSet(int pos) => (_received[pos >> 3] & (1 << (pos & 7))) != 0;
    }
}
