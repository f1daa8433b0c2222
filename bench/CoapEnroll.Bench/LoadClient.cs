using System.Buffers.Binary;
using System.Diagnostics;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>
/// One client endpoint of the <c>serve-load</c> generator: keeps <see cref="InFlight"/> confirmable GETs outstanding,
/// with message IDs counting up from a random start and wrapping at 65536 (RFC 7252 §4.4) and a random 4-byte token
/// each, and retransmits like a CoAP client (§4.2: the first timeout drawn from [ACK_TIMEOUT, ACK_TIMEOUT ×
/// ACK_RANDOM_FACTOR], doubled each time, MAX_RETRANSMIT retransmissions, and the request counted failed after its last
/// timeout). It knows nothing of the transport: it hands out datagrams to send and takes the datagrams received.
/// </summary>
/// <remarks>
/// The request is encoded once by <see cref="CoapMessageEncoder"/>; each new request is a copy with its message ID and
/// token written where RFC 7252 §3 puts them (bytes 2–3, and the token right after the 4-byte header). Replies are read
/// with <see cref="CoapMessageDecoder.TryReadHeader"/> and matched by message ID (ACK, RST) or token (a separate response).
/// An empty ACK stops the retransmissions and leaves the request waiting for its separate response for at most
/// <see cref="SeparateResponseTimeout"/>.
/// </remarks>
internal sealed class LoadClient
{
    public const int TokenLength = 4;

    private static readonly TimeSpan SeparateResponseTimeout = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly byte[] _template;
    private readonly Slot[] _slots;
    private readonly LoadParameters _parameters;
    private readonly long _windowEnd;
    private ushort _nextMessageId;
    private bool _stopping;

    public LoadClient(int index, byte[] template, int inFlight, LoadParameters parameters, long windowEnd)
    {
        Index = index;
        _template = template;
        _slots = new Slot[inFlight];
        _parameters = parameters;
        _windowEnd = windowEnd;
        _nextMessageId = (ushort)Random.Shared.Next(65536);
    }

    public int Index { get; }

    public int InFlight => _slots.Length;

    public LoadCounts Counts { get; } = new();

    /// <summary>Latency of every answered request, first transmission to response, in microseconds.</summary>
    public List<int> LatenciesUs { get; } = new(4096);

    /// <summary>The encoded request all requests are copied from: a CON GET of <paramref name="path"/> with a 4-byte token.</summary>
    public static byte[] CreateTemplate(string path)
    {
        CoapMessage request = CoapMessage.CreateRequest(CoapCode.Get, path) with { Token = new byte[TokenLength] };
        return CoapMessageEncoder.Encode(request);
    }

    /// <summary>Fills every slot with a new request; returns the datagrams to send.</summary>
    public void Start(long now, List<byte[]> toSend)
    {
        lock (_lock)
        {
            for (int i = 0; i < _slots.Length; i++)
            {
                toSend.Add(NewRequestLocked(ref _slots[i], now));
            }
        }
    }

    /// <summary>No new request from now on; the ones outstanding run to their end.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            _stopping = true;
        }
    }

    /// <summary>Requests still outstanding (sent, neither answered nor failed).</summary>
    public int Outstanding
    {
        get
        {
            lock (_lock)
            {
                return _slots.Count(s => s.Busy);
            }
        }
    }

    /// <summary>Takes one received datagram; adds what must be sent now (an ACK, the next request) to <paramref name="toSend"/>.</summary>
    public void OnDatagram(ReadOnlySpan<byte> datagram, long now, List<byte[]> toSend)
    {
        if (!CoapMessageDecoder.TryReadHeader(datagram, out CoapMessageType type, out CoapCode code, out ushort messageId))
        {
            Interlocked.Increment(ref Counts.Malformed);
            return;
        }

        int tokenLength = datagram[0] & 0x0F;
        ReadOnlySpan<byte> token = datagram.Length >= 4 + tokenLength ? datagram.Slice(4, tokenLength) : default;
        lock (_lock)
        {
            switch (type)
            {
                case CoapMessageType.Acknowledgement or CoapMessageType.Reset:
                    int byId = FindByMessageIdLocked(messageId);
                    if (byId < 0)
                    {
                        Counts.Unmatched++;
                        return;
                    }

                    if (type == CoapMessageType.Reset)
                    {
                        Counts.Resets++;
                        FinishLocked(ref _slots[byId], now, toSend);
                    }
                    else if (code == CoapCode.Empty)
                    {
                        // Acknowledged; the response follows in a message of its own (§5.2.2).
                        _slots[byId].Acknowledged = true;
                        _slots[byId].Deadline = now + Ticks(SeparateResponseTimeout);
                    }
                    else
                    {
                        CompleteLocked(ref _slots[byId], code, now, toSend);
                    }

                    return;
                default:
                    // A separate response (CON or NON), matched by token; a CON one is acknowledged.
                    if (type == CoapMessageType.Confirmable)
                    {
                        toSend.Add(CoapMessageEncoder.Encode(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, messageId)));
                    }

                    int byToken = FindByTokenLocked(token);
                    if (byToken < 0 || code.IsRequest || code == CoapCode.Empty)
                    {
                        Counts.Unmatched++;
                        return;
                    }

                    CompleteLocked(ref _slots[byToken], code, now, toSend);
                    return;
            }
        }
    }

    /// <summary>Retransmits what timed out and fails what timed out for the last time; adds the datagrams to send.</summary>
    public void CheckTimeouts(long now, List<byte[]> toSend)
    {
        lock (_lock)
        {
            for (int i = 0; i < _slots.Length; i++)
            {
                ref Slot slot = ref _slots[i];
                if (!slot.Busy || slot.Deadline > now)
                {
                    continue;
                }

                if (!slot.Acknowledged && slot.Retransmissions < _parameters.MaxRetransmit)
                {
                    slot.Retransmissions++;
                    slot.Timeout *= 2;
                    slot.Deadline = now + slot.Timeout;
                    Counts.Retransmissions++;
                    toSend.Add(slot.Datagram!);
                    continue;
                }

                Counts.Failed++;
                FinishLocked(ref slot, now, toSend);
            }
        }
    }

    private void CompleteLocked(ref Slot slot, CoapCode code, long now, List<byte[]> toSend)
    {
        Counts.ByCode[code.Value]++;
        if (code == CoapCode.Content)
        {
            Counts.Ok++;
        }

        if (now < _windowEnd)
        {
            Counts.AnsweredInWindow++;
        }

        LatenciesUs.Add((int)Math.Min(int.MaxValue, Stopwatch.GetElapsedTime(slot.FirstSent, now).Ticks / 10));
        FinishLocked(ref slot, now, toSend);
    }

    private void FinishLocked(ref Slot slot, long now, List<byte[]> toSend)
    {
        slot.Busy = false;
        slot.Datagram = null;
        if (!_stopping)
        {
            toSend.Add(NewRequestLocked(ref slot, now));
        }
    }

    private byte[] NewRequestLocked(ref Slot slot, long now)
    {
        byte[] datagram = (byte[])_template.Clone();
        ushort messageId = _nextMessageId++;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), messageId);
        uint token = (uint)Random.Shared.Next() ^ ((uint)Random.Shared.Next() << 1);
        BinaryPrimitives.WriteUInt32BigEndian(datagram.AsSpan(4, TokenLength), token);
        double factor = 1 + (Random.Shared.NextDouble() * (_parameters.AckRandomFactor - 1));
        slot = new Slot
        {
            Busy = true,
            MessageId = messageId,
            Token = token,
            FirstSent = now,
            Timeout = (long)(Ticks(_parameters.AckTimeout) * factor),
            Datagram = datagram,
        };
        slot.Deadline = now + slot.Timeout;
        Counts.Sent++;
        return datagram;
    }

    private int FindByMessageIdLocked(ushort messageId)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Busy && _slots[i].MessageId == messageId)
            {
                return i;
            }
        }

        return -1;
    }

    private int FindByTokenLocked(ReadOnlySpan<byte> token)
    {
        if (token.Length != TokenLength)
        {
            return -1;
        }

        uint value = BinaryPrimitives.ReadUInt32BigEndian(token);
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Busy && _slots[i].Token == value)
            {
                return i;
            }
        }

        return -1;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private struct Slot
    {
        public bool Busy;
        public bool Acknowledged;
        public ushort MessageId;
        public uint Token;
        public long FirstSent;
        public long Timeout;
        public long Deadline;
        public int Retransmissions;
        public byte[]? Datagram;
    }
}
