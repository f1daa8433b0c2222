using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Dtls;

/// <summary>
/// The role-agnostic part of one DTLS 1.2 association (RFC 6347): epochs 0 and 1, write sequence numbers,
/// read protection with one <see cref="AntiReplayWindow"/> per epoch, handshake fragmentation to the PMTU
/// and packing of a flight's records into as few datagrams as fit (§4.1.1, §4.2.3), flight retransmission
/// (§4.2.4), reassembly, alerts, application data and connection IDs (RFC 9146). The handshake itself is
/// the subclass's: it receives complete messages in order and builds flights.
/// All work for one connection is serialized by an async lock: the channel's receive loop, retransmission
/// timers and application sends all take it; nothing blocks a thread. The lock is two fields of the connection
/// rather than a SemaphoreSlim (an idle session keeps it for its whole life); its waiters, and the master secret's
/// readers, synchronize on the connection object itself, which is internal, so nothing else locks on it.
/// Decrypted application data is handed to the owner only after the lock is released, so that a reader the owner runs
/// inline can send its reply on the same thread.
/// </summary>
internal abstract class DtlsConnection
{
    private const int MinUsefulFragment = 32;

    private static readonly byte[] ChangeCipherSpecBody = [1];

    private readonly IDtlsConnectionOwner _owner;
    private int _lockHeld; // 1 while a holder runs; Interlocked when uncontended, otherwise under lock (this)
    private Queue<LockWaiter>? _lockWaiters;
    // The outbox: most flushes of an established session send one datagram, which needs no list; flights use the rest.
    private OutgoingDatagram _outgoing;
    private List<OutgoingDatagram>? _moreOutgoing;

    // Application data of the datagram being processed, under the lock; handed to the owner after the lock is released.
    private PooledDatagram _received;
    private List<PooledDatagram>? _receivedMore;

    // Epoch 0 has no protection, so only epoch 1 has protection (structs, default until the keys are installed). Fields
    // rather than per-epoch arrays, and inline: every idle established session holds them for its whole life.
    private DtlsRecordProtection _writeProtection1;
    private DtlsRecordProtection _readProtection1;
    private ulong _writeSequence0;
    private ulong _writeSequence1;
    private AntiReplayWindow _replay0;
    private AntiReplayWindow _replay1;

    /// <summary>Sets the next epoch-0 record sequence number (the server mirrors the ClientHello's, RFC 6347 §4.2.1).</summary>
    protected void SetEpochZeroWriteSequence(ulong sequenceNumber) => _writeSequence0 = sequenceNumber;

    /// <summary>
    /// Forgets epoch-0 sequence numbers seen so far. A HelloVerifyRequest comes from the stateless cookie
    /// responder, not from the connection that answers the second ClientHello, so servers that restart
    /// their numbering there must not have their ServerHello dropped as a replay.
    /// </summary>
    protected void ResetEpochZeroReplayWindow() => _replay0.Reset();
    private ushort _writeEpoch;
    private ushort _readEpoch;
    private ushort _nextSendMessageSeq;
    private FlightItem[]? _lastFlight;
    private Retransmission? _retransmission; // while a flight waits for its answer; none once established
    private long _lastFlightSentAt;
    // client random (32) || server random (32) || master secret (48) || tls-unique (12): one array for what a session keeps
    // for exporters, the key log and channel bindings (four arrays cost 72 B more per session).
    private const int MasterSecretOffset = 2 * DtlsKeySchedule.RandomLength;
    private const int TlsUniqueOffset = MasterSecretOffset + DtlsKeySchedule.MasterSecretLength;
    // ... || the verify_data of our own Finished (12), while an established server keeps its final flight in compact form.
    private const int OwnFinishedOffset = TlsUniqueOffset + DtlsKeySchedule.VerifyDataLength;
    // ... || the peer's CID (0-255 bytes, appended once the hellos negotiate one: its own array cost 32 B more per session).
    private const int PeerConnectionIdOffset = OwnFinishedOffset + DtlsKeySchedule.VerifyDataLength;
    private byte[] _keyMaterial = new byte[PeerConnectionIdOffset];
    private byte _peerConnectionIdLength;
    // The retained final flight as ChangeCipherSpec + Finished(message_seq, verify_data at OwnFinishedOffset) instead of
    // _lastFlight: an array of two items and the Finished body cost ~90 B for every session that never sends data.
    private bool _compactFinalFlight;
    private ushort _compactFinishedMessageSeq;
    private bool _hasTlsUnique;
    private bool _hasClientRandom;
    private bool _hasServerRandom;
    private bool _hasMasterSecret; // set and cleared under lock (this)
    private int _state; // 0 handshaking, 1 established, 2 closed
    private DtlsHandshakeState? _handshake; // null once established or closed
    private DtlsSessionEndPoint? _endPoint;
    private ushort _nextReceiveMessageSeqAfterHandshake;

    protected DtlsConnection(DtlsOptions options, IDtlsConnectionOwner owner, IPEndPoint remote, ILogger? logger,
        DtlsHandshakeState? handshake = null)
    {
        _handshake = handshake ?? new DtlsHandshakeState(0);
        Options = options;
        _owner = owner;
        Remote = remote;
        Logger = logger ?? NullLogger.Instance;
        LastActivity = options.TimeProvider.GetTimestamp();
    }

    protected DtlsOptions Options { get; }

    protected ILogger Logger { get; }

    /// <summary>Handshake reassembly; released (null) once the handshake is over.</summary>
    protected HandshakeReassembler Reassembler => HandshakeState.Reassembler;

    /// <summary>The handshake transcript; released (null) once the handshake is over.</summary>
    protected HandshakeTranscript Transcript => HandshakeState.Transcript;

    /// <summary>The handshake-only state (the subclass's type); throws once the handshake is over.</summary>
    protected DtlsHandshakeState HandshakeState => _handshake ?? throw new InvalidOperationException("The handshake is over.");

    /// <summary>
    /// True until the handshake state (transcript, reassembler, retransmission timer, the subclass's key
    /// exchange state) has been released at establishment or close. The final flight for retransmission
    /// (§4.2.4) is not part of it.
    /// </summary>
    internal bool HoldsHandshakeState => _handshake is not null || HasRetransmissionTimer || HoldsKeyExchangeState;

    /// <summary>The handshake-only object (reassembler, transcript, the server's key exchange objects), or null once released.</summary>
    protected DtlsHandshakeState? HandshakeStateIfHeld => _handshake;

    /// <summary>A retransmission timer exists (armed or not): an idle established session must have none.</summary>
    internal bool HasRetransmissionTimer => _retransmission is not null;

    /// <summary>The subclass still holds key exchange objects (ECDHE key pair, the peer's public key, cookies).</summary>
    internal virtual bool HoldsKeyExchangeState => false;

    /// <summary>
    /// Handshake messages (and ChangeCipherSpec) kept for retransmission: once established, the server's final flight only, until the
    /// client's first application data shows that it arrived.
    /// </summary>
    internal int RetainedFlightLength => _lastFlight?.Length ?? (_compactFinalFlight ? 2 : 0);

    /// <summary>The retained final flight is held in compact form (ChangeCipherSpec + our Finished's verify_data).</summary>
    internal bool RetainsCompactFinalFlight => _compactFinalFlight;

    /// <summary>The message_seq of the peer's next handshake message; older ones show a retransmitted flight.</summary>
    private ushort NextReceiveMessageSeq => _handshake?.Reassembler.NextMessageSeq ?? _nextReceiveMessageSeqAfterHandshake;

    /// <summary>
    /// The session as an <see cref="EndPoint"/>, one per connection for its whole life. Made on first use (the first data
    /// handed up, or a send): a session that never carries data never needs it.
    /// </summary>
    public DtlsSessionEndPoint EndPoint
    {
        get
        {
            DtlsSessionEndPoint? endPoint = Volatile.Read(ref _endPoint);
            if (endPoint is null)
            {
                Interlocked.CompareExchange(ref _endPoint, new DtlsSessionEndPoint(this), null);
                endPoint = Volatile.Read(ref _endPoint)!;
            }

            return endPoint;
        }
    }

    /// <summary>The peer's current address (changes only on an authenticated, newest CID record).</summary>
    public IPEndPoint Remote { get; private set; }

    public bool IsEstablished => Volatile.Read(ref _state) == 1;

    /// <summary>Datagrams of this session waiting in the server channel's inbox (kept by <see cref="ApplicationDataInbox"/>, under its lock).</summary>
    internal int QueuedApplicationData { get; set; }

    public bool IsClosed => Volatile.Read(ref _state) == 2;

    /// <summary>True while epoch-1 record keys are installed and not yet released (they are released at close).</summary>
    internal bool HoldsRecordKeys => _writeProtection1.IsUsable || _readProtection1.IsUsable;

    /// <summary>Timestamp of the last authenticated record (or creation).</summary>
    public long LastActivity { get; private set; }

    public CipherSuiteInfo? Suite { get; protected set; }

    public X509Certificate2Collection? PeerCertificates { get; protected set; }

    public bool IsPeerCertificateValidated { get; protected set; }

    public byte[]? PskIdentity { get; protected set; }

    /// <summary>
    /// The raw tls-unique, whether or not it identifies the session (see <see cref="IsExtendedMasterSecretNegotiated"/>);
    /// empty before the first Finished.
    /// </summary>
    public ReadOnlySpan<byte> TlsUnique =>
        Volatile.Read(ref _hasTlsUnique) ? _keyMaterial.AsSpan(TlsUniqueOffset, DtlsKeySchedule.VerifyDataLength) : default;

    /// <summary>Sets tls-unique: the verify_data of the handshake's first Finished (RFC 5929 §3.1).</summary>
    protected void SetTlsUnique(ReadOnlySpan<byte> verifyData)
    {
        if (verifyData.Length != DtlsKeySchedule.VerifyDataLength)
        {
            throw new ArgumentException("verify_data is 12 bytes.", nameof(verifyData));
        }

        verifyData.CopyTo(_keyMaterial.AsSpan(TlsUniqueOffset));
        Volatile.Write(ref _hasTlsUnique, true);
    }

    /// <summary>
    /// True when both hellos carried extended_master_secret and the master secret is RFC 7627's; false for an RFC 5246 master
    /// secret, which a man in the middle can make equal in two sessions (RFC 7627 §1, §6.1).
    /// </summary>
    public bool IsExtendedMasterSecretNegotiated { get; protected set; }

    /// <summary>The client's hello random; empty until known.</summary>
    public ReadOnlySpan<byte> ClientRandom => _hasClientRandom ? _keyMaterial.AsSpan(0, DtlsKeySchedule.RandomLength) : default;

    /// <summary>The server's hello random; empty until known.</summary>
    public ReadOnlySpan<byte> ServerRandom =>
        _hasServerRandom ? _keyMaterial.AsSpan(DtlsKeySchedule.RandomLength, DtlsKeySchedule.RandomLength) : default;

    /// <summary>Sets the client's hello random (32 bytes).</summary>
    protected void SetClientRandom(ReadOnlySpan<byte> random)
    {
        SetRandom(random, 0);
        _hasClientRandom = true;
    }

    /// <summary>Sets the server's hello random (32 bytes).</summary>
    protected void SetServerRandom(ReadOnlySpan<byte> random)
    {
        SetRandom(random, DtlsKeySchedule.RandomLength);
        _hasServerRandom = true;
    }

    private void SetRandom(ReadOnlySpan<byte> random, int offset)
    {
        if (random.Length != DtlsKeySchedule.RandomLength)
        {
            throw new ArgumentException("A hello random is 32 bytes.", nameof(random));
        }

        random.CopyTo(_keyMaterial.AsSpan(offset));
    }

    /// <summary>Our CID: what the peer puts in the records it sends us.</summary>
    public byte[] LocalConnectionId { get; protected set; } = [];

    /// <summary>
    /// The peer's CID: what we put in the records we send (empty: none). A copy: the CID lives in the array that also holds the master
    /// secret, which a slice of it would hand out (MemoryMarshal.TryGetArray).
    /// </summary>
    public ReadOnlyMemory<byte> PeerConnectionId => PeerConnectionIdSpan.ToArray();

    private ReadOnlySpan<byte> PeerConnectionIdSpan => _keyMaterial.AsSpan(PeerConnectionIdOffset, _peerConnectionIdLength);

    /// <summary>Sets the peer's CID while the hellos are exchanged (before any secret is in the key-material array it regrows).</summary>
    protected void SetPeerConnectionId(ReadOnlySpan<byte> connectionId)
    {
        if (connectionId.Length > byte.MaxValue || _hasMasterSecret)
        {
            throw new InvalidOperationException("A CID is at most 255 bytes and is set before the keys.");
        }

        byte[] grown = new byte[PeerConnectionIdOffset + connectionId.Length];
        _keyMaterial.AsSpan(0, PeerConnectionIdOffset).CopyTo(grown);
        connectionId.CopyTo(grown.AsSpan(PeerConnectionIdOffset));
        lock (this)
        {
            _keyMaterial = grown;
            _peerConnectionIdLength = (byte)connectionId.Length;
        }
    }

    public bool IsConnectionIdNegotiated { get; protected set; }

    /// <summary>
    /// Largest application datagram that fits one record within the PMTU. With a CID the record's inner plaintext also carries the
    /// content type byte (RFC 9146 §4), which <see cref="DtlsRecordProtection.GetMaxPlaintextLength"/> already counts. Never more than
    /// <see cref="SendApplicationDataAsync"/> takes (2^14 − 1: with a CID, content and type byte together are at most 2^14).
    /// </summary>
    public int MaxApplicationDataLength =>
        _writeProtection1.IsCreated
            ? Math.Clamp(_writeProtection1.GetMaxPlaintextLength(Options.PathMtu, PeerConnectionId.Length), 0, MaxApplicationDatagram)
            : 0;

    /// <summary>The largest datagram <see cref="SendApplicationDataAsync"/> takes, whatever the PMTU.</summary>
    private const int MaxApplicationDatagram = DtlsRecordCodec.MaxPlaintextLength - 1;

    /// <summary>The server side of the handshake (for logs and metrics).</summary>
    protected abstract bool IsServer { get; }

    /// <summary>True while waiting for the peer's ChangeCipherSpec.</summary>
    protected abstract bool IsExpectingChangeCipherSpec { get; }

    /// <summary>The server retransmits its final flight when the client repeats its last one (§4.2.4).</summary>
    protected abstract bool RetransmitsFinalFlight { get; }

    /// <summary>Handles one complete handshake message, in message_seq order, exactly once.</summary>
    protected abstract ValueTask OnHandshakeMessageAsync(ReassembledHandshakeMessage message, CancellationToken cancellationToken);

    /// <summary>The peer's ChangeCipherSpec switched the read epoch to 1.</summary>
    protected abstract void OnChangeCipherSpecReceived();

    // ---- entry points (each takes the lock) ----

    /// <summary>
    /// Processes one datagram from <paramref name="from"/>: every record in order (RFC 6347 §4.1.1). Its application data goes to
    /// the owner after the lock is released, in record order: the owner may run its reader on this thread up to the reply, and
    /// the reply takes the lock again (<see cref="SendApplicationDataAsync"/>).
    /// </summary>
    public async ValueTask ProcessDatagramAsync(ReadOnlyMemory<byte> datagram, IPEndPoint from, CancellationToken cancellationToken)
    {
        await EnterLockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ProcessLockedAsync(datagram, from, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            (PooledDatagram received, List<PooledDatagram>? receivedMore) = (_received, _receivedMore);
            (_received, _receivedMore) = (default, null);
            await FlushAndReleaseAsync(cancellationToken).ConfigureAwait(false);
            HandUp(received, receivedMore);
        }
    }

    /// <summary>Gives the owner what a datagram carried, in order; whatever a failing hand-over leaves is returned to the pool.</summary>
    private void HandUp(PooledDatagram first, List<PooledDatagram>? more)
    {
        if (first.IsEmpty)
        {
            return;
        }

        int handed = -1;
        try
        {
            _owner.OnApplicationData(this, first);
            for (handed = 0; more is not null && handed < more.Count; handed++)
            {
                _owner.OnApplicationData(this, more[handed]);
            }
        }
        finally
        {
            for (int i = handed + 1; more is not null && i < more.Count; i++)
            {
                more[i].Return();
            }
        }
    }

    private async ValueTask ProcessLockedAsync(ReadOnlyMemory<byte> datagram, IPEndPoint from, CancellationToken cancellationToken)
    {
        try
        {
            if (IsClosed)
            {
                return;
            }

            bool retransmit = false;
            int offset = 0;
            while (offset < datagram.Length && !IsClosed)
            {
                bool usable = ReadRecord(datagram[offset..], out InboundRecord record, out int consumed);
                if (consumed == 0)
                {
                    DtlsLog.Dropped(Logger, Remote, "malformed record (rest of datagram)");
                    break;
                }

                offset += consumed;
                if (usable)
                {
                    retransmit |= await HandleRecordAsync(record, from, cancellationToken).ConfigureAwait(false);
                }
            }

            if (retransmit && !IsClosed)
            {
                RetransmitOnPeerRetransmission();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            DtlsLog.InternalError(Logger, Remote, ex);
            Fail(AlertDescription.InternalError, "internal error");
        }
    }

    /// <summary>Encrypts and sends one application datagram; false when not established (the datagram is dropped).</summary>
    public async ValueTask<bool> SendApplicationDataAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await EnterLockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsEstablished)
            {
                return false;
            }

            if (data.Length > MaxApplicationDatagram)
            {
                throw new ArgumentException("Datagram larger than a DTLS record.", nameof(data));
            }

            WriteRecord(1, ContentType.ApplicationData, data.Span);
            return true;
        }
        finally
        {
            await FlushAndReleaseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection, optionally with close_notify (RFC 5246 §7.2.1).</summary>
    public async ValueTask CloseAsync(bool sendCloseNotify, CancellationToken cancellationToken)
    {
        await EnterLockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsClosed)
            {
                return;
            }

            if (sendCloseNotify)
            {
                SendAlert(AlertLevel.Warning, AlertDescription.CloseNotify);
            }

            MarkClosed(null);
        }
        finally
        {
            await FlushAndReleaseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a handshake step (the client's first flight) under the lock.</summary>
    protected async ValueTask RunLockedAsync(Action action, CancellationToken cancellationToken)
    {
        await EnterLockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            action();
        }
        finally
        {
            await FlushAndReleaseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void ExportKeyingMaterial(string label, byte[]? context, Span<byte> output)
    {
        lock (this)
        {
            if (!_hasMasterSecret || !IsEstablished)
            {
                throw new InvalidOperationException("No established session.");
            }

            // RFC 7627 §5.4: without the extended master secret, RFC 5705 MUST be disabled.
            if (!IsExtendedMasterSecretNegotiated)
            {
                throw new InvalidOperationException(WithoutExtendedMasterSecret("exported keying material"));
            }

            DtlsKeySchedule.ExportKeyingMaterial(MasterSecret, ClientRandom, ServerRandom, label, context, output);
        }
    }

    /// <summary>Why a channel binding of a session without the extended master secret is refused.</summary>
    internal static string WithoutExtendedMasterSecret(string what) =>
        $"The session did not negotiate extended_master_secret, so its {what} does not identify it (RFC 7627 sections 5.4 and 6.1).";

    // ---- record layer ----

    /// <summary>
    /// Parses one record and, for epoch 1, authenticates and decrypts it. Returns false for anything dropped
    /// silently (RFC 6347 §4.1.2.7); <paramref name="consumed"/> 0 means the rest of the datagram is unusable.
    /// The replay window is checked before and marked only after authentication (§4.1.2.6).
    /// An epoch-0 record's payload is a slice of <paramref name="data"/> (valid while the datagram is processed);
    /// an epoch-1 record is decrypted into a pooled buffer that <see cref="HandleRecordAsync"/> returns or hands on.
    /// </summary>
    private bool ReadRecord(ReadOnlyMemory<byte> data, out InboundRecord inbound, out int consumed)
    {
        inbound = default;
        int cidLength = IsConnectionIdNegotiated ? LocalConnectionId.Length : 0;
        if (DtlsRecordCodec.TryReadRecord(data.Span, cidLength, out DtlsRecord record, out consumed) != RecordParseStatus.Success)
        {
            consumed = 0;
            return false;
        }

        if (record.Epoch == 0)
        {
            if (!_replay0.Check(record.SequenceNumber))
            {
                return false;
            }

            _replay0.Mark(record.SequenceNumber);
            // The fragment is the record's tail: no copy, the datagram outlives the record's handling.
            inbound = new InboundRecord(0, record.ContentType, data.Slice(consumed - record.Payload.Length, record.Payload.Length), false, null);
            return true;
        }

        if (record.Epoch != 1 || _readEpoch != 1 || !_readProtection1.IsCreated)
        {
            return false; // a future epoch, or epoch 1 before the peer's ChangeCipherSpec: dropped (§4.1)
        }

        // RFC 9146 §3: once we asked for a CID, every protected record must carry exactly ours.
        if (cidLength > 0 && (!record.HasConnectionId || !record.ConnectionId.SequenceEqual(LocalConnectionId)))
        {
            return false;
        }

        if (!_replay1.Check(record.SequenceNumber))
        {
            return false;
        }

        byte[] plaintext = ArrayPool<byte>.Shared.Rent(record.Payload.Length);
        bool opened = false;
        try
        {
            opened = _readProtection1.TryOpen(record, plaintext, out ContentType type, out int length);
            if (!opened)
            {
                return false;
            }

            bool newest = _replay1.Mark(record.SequenceNumber);
            inbound = new InboundRecord(1, type, plaintext.AsMemory(0, length), newest, plaintext);
            return true;
        }
        finally
        {
            if (!opened)
            {
                ArrayPool<byte>.Shared.Return(plaintext);
            }
        }
    }

    /// <summary>
    /// Handles one record; returns true when it showed the peer retransmitting a flight we already processed.
    /// Owns the record's pooled buffer: hands it to the owner with application data, returns it otherwise.
    /// </summary>
    private async ValueTask<bool> HandleRecordAsync(InboundRecord record, IPEndPoint from, CancellationToken cancellationToken)
    {
        bool handedOver = false;
        try
        {
            if (record.Epoch == 1)
            {
                LastActivity = Options.TimeProvider.GetTimestamp();

                // RFC 9146 §6: only an authenticated record that is the newest so far moves the peer.
                if (record.IsNewest && IsConnectionIdNegotiated && LocalConnectionId.Length > 0 && !from.Equals(Remote))
                {
                    IPEndPoint previous = Remote;
                    Remote = from;
                    DtlsLog.AddressChanged(Logger, from, previous);
                    _owner.OnRemoteChanged(this, previous);
                }
            }

            switch (record.Type)
            {
                case ContentType.Alert:
                    HandleAlert(record);
                    return false;
                case ContentType.ChangeCipherSpec:
                    HandleChangeCipherSpec(record);
                    return false;
                case ContentType.Handshake:
                    return await HandleHandshakeRecordAsync(record, cancellationToken).ConfigureAwait(false);
                case ContentType.ApplicationData:
                    if (record.Epoch == 1 && IsEstablished && record.Pooled is { } pooled)
                    {
                        // The peer sends application data only after it processed our Finished: our final flight arrived and
                        // is never needed again (RFC 6347 §4.2.4 keeps it only against the loss of that flight).
                        _lastFlight = null;
                        _compactFinalFlight = false;
                        // Handed up once the lock is released (ProcessDatagramAsync).
                        handedOver = true;
                        var data = new PooledDatagram(pooled, record.Payload.Length);
                        if (_received.IsEmpty)
                        {
                            _received = data;
                        }
                        else
                        {
                            (_receivedMore ??= []).Add(data);
                        }
                    }
                    else
                    {
                        DtlsLog.Dropped(Logger, Remote, "application data outside an established epoch 1");
                    }

                    return false;
                default:
                    return false;
            }
        }
        finally
        {
            if (!handedOver && record.Pooled is { } pooled)
            {
                new PooledDatagram(pooled, record.Payload.Length).Return();
            }
        }
    }

    private void HandleAlert(InboundRecord record)
    {
        if (!DtlsAlert.TryParse(record.Payload.Span, out DtlsAlert alert))
        {
            return;
        }

        if (record.Epoch < _readEpoch)
        {
            DtlsLog.Dropped(Logger, Remote, "plaintext alert after the epoch change");
            return;
        }

        DtlsLog.ReceivedAlert(Logger, Remote, alert.Level, alert.Description);
        if (alert.Description == AlertDescription.CloseNotify)
        {
            // RFC 5246 §7.2.1: answer close_notify with close_notify and discard pending writes.
            if (IsEstablished)
            {
                SendAlert(AlertLevel.Warning, AlertDescription.CloseNotify);
            }

            MarkClosed(IsEstablished ? null : new DtlsHandshakeException("The peer closed the connection during the handshake.",
                AlertDescription.CloseNotify, receivedFromPeer: true));
        }
        else if (alert.IsFatal)
        {
            MarkClosed(new DtlsHandshakeException($"The peer sent a fatal {alert.Description} alert.", alert.Description, receivedFromPeer: true));
        }
    }

    private void HandleChangeCipherSpec(InboundRecord record)
    {
        if (record.Epoch != _readEpoch)
        {
            return; // a retransmitted ChangeCipherSpec from epoch 0
        }

        // A ChangeCipherSpec we are not waiting for is dropped rather than answered: after loss it may be
        // a legitimate early arrival, and the peer retransmits its whole flight (attacks #5, #12).
        if (!ChangeCipherSpec.IsValid(record.Payload.Span) || !IsExpectingChangeCipherSpec || !_readProtection1.IsCreated || _readEpoch != 0)
        {
            DtlsLog.Dropped(Logger, Remote, "unexpected ChangeCipherSpec");
            return;
        }

        _readEpoch = 1;
        OnChangeCipherSpecReceived();
    }

    private async ValueTask<bool> HandleHandshakeRecordAsync(InboundRecord record, CancellationToken cancellationToken)
    {
        bool retransmission = false;
        bool feed = record.Epoch == _readEpoch && !IsEstablished;
        ReadOnlyMemory<byte> payload = record.Payload;
        while (!payload.IsEmpty)
        {
            if (!HandshakeHeader.TryRead(payload.Span, out HandshakeHeader header, out ReadOnlySpan<byte> fragment, out int used))
            {
                DtlsLog.Dropped(Logger, Remote, "malformed handshake fragment");
                break;
            }

            if (!feed)
            {
                // Old-epoch or post-handshake fragments are only evidence of a retransmitted flight.
                retransmission |= header.MessageSeq < NextReceiveMessageSeq;
            }
            else
            {
                HandshakeFragmentStatus status = Reassembler.Add(header, fragment);
                retransmission |= status == HandshakeFragmentStatus.Retransmission;
                if (status is HandshakeFragmentStatus.Inconsistent or HandshakeFragmentStatus.TooLarge or HandshakeFragmentStatus.TooFarAhead)
                {
                    DtlsLog.Dropped(Logger, Remote, "handshake fragment (" + status + ")");
                }
            }

            payload = payload[used..];
        }

        while (feed && !IsClosed && !IsEstablished && Reassembler.TryTakeNext(out ReassembledHandshakeMessage? message))
        {
            await OnHandshakeMessageAsync(message, cancellationToken).ConfigureAwait(false);
        }

        return retransmission;
    }

    // ---- sending ----

    /// <summary>Appends a handshake message to a flight at the current write epoch, with the next message_seq.</summary>
    protected byte[] AddHandshake(List<FlightItem> flight, HandshakeMessage message, bool appendToTranscript = true)
    {
        byte[] body = message.Encode();
        ushort seq = _nextSendMessageSeq++;
        if (appendToTranscript)
        {
            Transcript.Append(message.Type, seq, body);
        }

        flight.Add(new FlightItem(_writeEpoch, message.Type, seq, body));
        return body;
    }

    /// <summary>Appends ChangeCipherSpec and switches the write epoch to 1 (keys must be installed).</summary>
    protected void AddChangeCipherSpec(List<FlightItem> flight)
    {
        if (!_writeProtection1.IsCreated)
        {
            throw new InvalidOperationException("No pending write keys.");
        }

        flight.Add(new FlightItem(_writeEpoch, null, 0, ChangeCipherSpecBody));
        _writeEpoch = 1;
    }

    protected ushort NextSendMessageSeq
    {
        get => _nextSendMessageSeq;
        set => _nextSendMessageSeq = value;
    }

    /// <summary>Sends a flight and remembers it for retransmission; the timer runs when a response is expected.</summary>
    protected void SendFlight(List<FlightItem> flight, bool expectResponse)
    {
        // An array of structs: the server keeps its final flight for the connection's whole life (§4.2.4).
        _lastFlight = [.. flight];
        TransmitFlight();
        if (expectResponse)
        {
            _retransmission?.Timer?.Dispose();
            _retransmission = new Retransmission { Timeout = Options.InitialRetransmissionTimeout };
            ArmTimer(_retransmission);
        }
        else
        {
            StopRetransmissionTimer();
        }
    }

    /// <summary>The retained final flight rebuilt from its compact form (only when it is resent), or null.</summary>
    private FlightItem[]? ExpandCompactFinalFlight() =>
        _compactFinalFlight
            ?
            [
                new FlightItem(0, null, 0, ChangeCipherSpecBody),
                new FlightItem(1, HandshakeType.Finished, _compactFinishedMessageSeq,
                    _keyMaterial.AsSpan(OwnFinishedOffset, DtlsKeySchedule.VerifyDataLength).ToArray()),
            ]
            : null;

    /// <summary>The peer's next flight has begun: stop retransmitting ours (§4.2.4).</summary>
    protected void StopRetransmissionTimer()
    {
        _retransmission?.Timer?.Dispose();
        _retransmission = null; // a timer callback already under way finds another object, or none, and does nothing
    }

    /// <summary>Installs the epoch-1 keys: write side used after our ChangeCipherSpec, read side after the peer's.</summary>
    protected void InstallKeys(DtlsKeyBlock keyBlock, bool isClient)
    {
        _writeProtection1 = isClient ? keyBlock.CreateClientWriteProtection() : keyBlock.CreateServerWriteProtection();
        _readProtection1 = isClient ? keyBlock.CreateServerWriteProtection() : keyBlock.CreateClientWriteProtection();
    }

    /// <summary>The master secret; empty before it is derived and after close.</summary>
    protected ReadOnlySpan<byte> MasterSecret =>
        _hasMasterSecret ? _keyMaterial.AsSpan(MasterSecretOffset, DtlsKeySchedule.MasterSecretLength) : default;

    /// <summary>
    /// Derives and keeps the master secret once ClientKeyExchange is in the transcript, and zeroes <paramref name="preMasterSecret"/>:
    /// the extended one over the session hash (RFC 7627 §4) when negotiated, otherwise PRF over the hello randoms (RFC 5246 §8.1).
    /// </summary>
    protected void DeriveMasterSecret(byte[] preMasterSecret)
    {
        Span<byte> masterSecret = _keyMaterial.AsSpan(MasterSecretOffset, DtlsKeySchedule.MasterSecretLength);
        if (IsExtendedMasterSecretNegotiated)
        {
            DtlsKeySchedule.ComputeExtendedMasterSecret(preMasterSecret, Transcript.GetHash(HashAlgorithmName.SHA256), masterSecret);
        }
        else
        {
            DtlsKeySchedule.ComputeMasterSecret(preMasterSecret, ClientRandom, ServerRandom, masterSecret);
        }

        CryptographicOperations.ZeroMemory(preMasterSecret);
        lock (this)
        {
            _hasMasterSecret = true;
        }
    }

    protected async ValueTask WriteKeyLogAsync(CancellationToken cancellationToken)
    {
        if (Options.ResolveKeyLogFile() is { } path && _hasMasterSecret)
        {
            await DtlsKeyLogWriter.AppendAsync(path, _keyMaterial.AsMemory(0, DtlsKeySchedule.RandomLength),
                _keyMaterial.AsMemory(MasterSecretOffset, DtlsKeySchedule.MasterSecretLength), Logger, cancellationToken).ConfigureAwait(false);
        }
    }

    protected void MarkEstablished()
    {
        Volatile.Write(ref _state, 1);
        LastActivity = Options.TimeProvider.GetTimestamp();
        if (!RetransmitsFinalFlight)
        {
            _lastFlight = null; // the client's last flight is answered: it is never sent again
        }
        else if (_lastFlight is [{ Type: null, Epoch: 0 }, { Type: HandshakeType.Finished, Epoch: 1 } finished] &&
            finished.Body.Length == DtlsKeySchedule.VerifyDataLength)
        {
            // Kept until the client's data shows it arrived, which idle clients never send: in compact form.
            finished.Body.CopyTo(_keyMaterial, OwnFinishedOffset);
            _compactFinishedMessageSeq = finished.MessageSeq;
            _compactFinalFlight = true;
            _lastFlight = null;
        }

        ReleaseHandshakeState();
        DtlsLog.Established(Logger, Remote, Suite!.Suite);
        DtlsMetrics.CountHandshake(IsServer, completed: true);
        if (!IsExtendedMasterSecretNegotiated)
        {
            DtlsLog.EstablishedWithoutExtendedMasterSecret(Logger, Remote, Suite.Suite);
            DtlsMetrics.HandshakesWithoutExtendedMasterSecret.Add(1, new KeyValuePair<string, object?>("dtls.role", IsServer ? "server" : "client"));
        }

        _owner.OnEstablished(this);
    }

    /// <summary>
    /// Drops what only the handshake needed, for the rest of the connection's life: the transcript (zeroed),
    /// the reassembler (buffered fragments zeroed; only its next message_seq is kept, to recognise a
    /// retransmitted peer flight) and whatever the subclass releases in <see cref="OnHandshakeStateReleased"/>.
    /// The last flight stays: the server resends its final flight when the client repeats its own (§4.2.4), until the client's
    /// application data shows that it arrived.
    /// </summary>
    private void ReleaseHandshakeState()
    {
        if (_handshake is { } handshake)
        {
            _nextReceiveMessageSeqAfterHandshake = handshake.Reassembler.NextMessageSeq;
            _handshake = null;
            handshake.Release();
        }

        OnHandshakeStateReleased();
    }

    /// <summary>The handshake is over (established or closed): release handshake-only state. Runs under the lock.</summary>
    protected virtual void OnHandshakeStateReleased()
    {
    }

    /// <summary>Sends a fatal alert and closes (RFC 5246 §7.2.2).</summary>
    protected void Fail(AlertDescription alert, string reason)
    {
        if (IsClosed)
        {
            return;
        }

        DtlsLog.SendingFatalAlert(Logger, Remote, alert, reason);
        SendAlert(AlertLevel.Fatal, alert);
        MarkClosed(new DtlsHandshakeException($"DTLS handshake failed ({alert}): {reason}", alert, receivedFromPeer: false));
    }

    private void SendAlert(AlertLevel level, AlertDescription description)
    {
        Span<byte> body = stackalloc byte[DtlsAlert.Size];
        new DtlsAlert(level, description).WriteTo(body);
        WriteRecord(_writeEpoch, ContentType.Alert, body);
    }

    private void MarkClosed(Exception? error)
    {
        int previous = Interlocked.Exchange(ref _state, 2);
        if (previous == 2)
        {
            return;
        }

        if (previous == 0)
        {
            // Closed before it was established: the handshake failed, was abandoned or timed out.
            DtlsMetrics.CountHandshake(IsServer, completed: false);
        }

        StopRetransmissionTimer();
        _lastFlight = null;
        _compactFinalFlight = false;
        ReleaseHandshakeState();
        lock (this)
        {
            if (_hasMasterSecret)
            {
                CryptographicOperations.ZeroMemory(_keyMaterial.AsSpan(MasterSecretOffset, DtlsKeySchedule.MasterSecretLength));
                _hasMasterSecret = false;
            }
        }

        // The record keys go too: an AesCcm keeps its key in a managed array that only Dispose clears (it has no finalizer), so a
        // closed session's keys stayed in the heap until the memory was reused. Every caller holds the connection lock, as does
        // every Seal and Open, so no record is being protected with them; records already in the outbox are sealed.
        _writeProtection1.Dispose();
        _readProtection1.Dispose();

        _owner.OnClosed(this, error);
    }

    /// <summary>Writes one record as its own datagram into the outbox, in a pooled buffer the flush returns.</summary>
    private void WriteRecord(ushort epoch, ContentType type, ReadOnlySpan<byte> plaintext)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(RecordOverhead(epoch) + plaintext.Length);
        int length;
        try
        {
            length = WriteRecordTo(buffer, epoch, type, plaintext);
        }
        catch
        {
            // Sealing works in place: a failure can leave plaintext behind.
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            throw;
        }

        Enqueue(new OutgoingDatagram(buffer, length));
    }

    /// <summary>
    /// Record length minus plaintext length: the header, and for epoch 1 nonce, tag and CID (GetSealedLength
    /// already counts a CID record's inner content type).
    /// </summary>
    private int RecordOverhead(ushort epoch) =>
        epoch == 0 ? DtlsRecordCodec.HeaderLength : _writeProtection1.GetSealedLength(0, _peerConnectionIdLength);

    private int WriteRecordTo(Span<byte> destination, ushort epoch, ContentType type, ReadOnlySpan<byte> plaintext)
    {
        ulong seq = epoch == 0 ? _writeSequence0++ : _writeSequence1++;
        return epoch == 0
            ? DtlsRecordCodec.WritePlaintextRecord(destination, type, seq, plaintext)
            : _writeProtection1.Seal(destination, type, 1, seq, plaintext, PeerConnectionIdSpan);
    }

    /// <summary>
    /// Writes the last flight into datagrams of at most the PMTU: handshake messages are fragmented
    /// (RFC 6347 §4.2.3) and records packed several per datagram (§4.1.1). Every transmission uses fresh
    /// record sequence numbers (§4.2.4).
    /// </summary>
    private void TransmitFlight()
    {
        FlightItem[]? flight = _lastFlight ?? ExpandCompactFinalFlight();
        if (flight is null)
        {
            return;
        }

        // Pooled buffers, sliced to the PMTU: a filled datagram goes to the outbox as it is (the flush returns it).
        int mtu = Options.PathMtu;
        byte[] datagram = ArrayPool<byte>.Shared.Rent(mtu);
        byte[] scratch = ArrayPool<byte>.Shared.Rent(mtu);
        int length = 0;
        try
        {
            foreach (FlightItem item in flight)
            {
                int overhead = RecordOverhead(item.Epoch);
                if (item.Type is null)
                {
                    if (length > 0 && length + overhead + 1 > mtu)
                    {
                        Emit(ref datagram, ref length);
                    }

                    length += WriteRecordTo(datagram.AsSpan(length, mtu - length), item.Epoch, ContentType.ChangeCipherSpec, item.Body);
                    continue;
                }

                int offset = 0;
                bool first = true;
                while (first || offset < item.Body.Length)
                {
                    int remaining = item.Body.Length - offset;
                    int room = mtu - length - overhead - HandshakeHeader.Size;
                    if (length > 0 && room < Math.Min(Math.Max(remaining, 0), MinUsefulFragment) || (length > 0 && room < 0))
                    {
                        Emit(ref datagram, ref length);
                        continue;
                    }

                    if (room < 1 && remaining > 0)
                    {
                        throw new InvalidOperationException("The path MTU is too small for a handshake record.");
                    }

                    int fragmentLength = Math.Min(room, remaining);
                    int written = HandshakeFragmenter.WriteFragment(scratch.AsSpan(0, mtu), item.Type.Value, item.MessageSeq, item.Body, offset, fragmentLength);
                    length += WriteRecordTo(datagram.AsSpan(length, mtu - length), item.Epoch, ContentType.Handshake, scratch.AsSpan(0, written));
                    offset += fragmentLength;
                    first = false;
                }
            }

            if (length > 0)
            {
                Emit(ref datagram, ref length);
            }
        }
        finally
        {
            // The scratch buffer held handshake plaintext, Finished included (whose verify_data is tls-unique).
            ArrayPool<byte>.Shared.Return(scratch, clearArray: true);
            ArrayPool<byte>.Shared.Return(datagram);
        }

        _lastFlightSentAt = Options.TimeProvider.GetTimestamp();
    }

    /// <summary>Adds a datagram to the outbox, after those already there.</summary>
    private void Enqueue(OutgoingDatagram datagram)
    {
        if (_outgoing.Buffer is null)
        {
            _outgoing = datagram;
        }
        else
        {
            (_moreOutgoing ??= []).Add(datagram);
        }
    }

    /// <summary>Moves a filled flight datagram to the outbox and continues in a fresh pooled buffer.</summary>
    private void Emit(ref byte[] datagram, ref int length)
    {
        // Rent first: if that failed after the add, the caller's finally would return a buffer the outbox still owns.
        byte[] next = ArrayPool<byte>.Shared.Rent(Options.PathMtu);
        Enqueue(new OutgoingDatagram(datagram, length));
        datagram = next;
        length = 0;
    }

    private void RetransmitOnPeerRetransmission()
    {
        if ((_lastFlight is null && !_compactFinalFlight) || (IsEstablished && !RetransmitsFinalFlight))
        {
            return;
        }

        // At most one answer per half initial timeout: a peer flight of several datagrams must not multiply ours.
        if (Options.TimeProvider.GetElapsedTime(_lastFlightSentAt) < Options.InitialRetransmissionTimeout / 2)
        {
            return;
        }

        DtlsLog.Retransmitting(Logger, Remote, _retransmission?.Count ?? 0, "peer retransmitted");
        TransmitFlight();
    }

    private void ArmTimer(Retransmission retransmission)
    {
        retransmission.Timer?.Dispose();
        int generation = ++retransmission.Generation;
        retransmission.Timer = Options.TimeProvider.CreateTimer(_ => _ = OnTimerAsync(retransmission, generation), null, retransmission.Timeout,
            Timeout.InfiniteTimeSpan);
    }

    private async Task OnTimerAsync(Retransmission retransmission, int generation)
    {
        await EnterLockAsync(CancellationToken.None).ConfigureAwait(false);

        try
        {
            if (!ReferenceEquals(retransmission, _retransmission) || generation != retransmission.Generation || IsClosed || _lastFlight is null)
            {
                return;
            }

            if (++retransmission.Count > Options.MaxRetransmissions)
            {
                DtlsLog.RetransmissionsExhausted(Logger, Remote, Options.MaxRetransmissions);
                MarkClosed(new DtlsHandshakeException($"No answer after {Options.MaxRetransmissions} retransmissions.", null, false));
                return;
            }

            DtlsLog.Retransmitting(Logger, Remote, retransmission.Count, "timeout");
            TransmitFlight();
            retransmission.Timeout = TimeSpan.FromTicks(Math.Min(retransmission.Timeout.Ticks * 2, Options.MaxRetransmissionTimeout.Ticks));
            ArmTimer(retransmission);
        }
        catch (Exception ex)
        {
            DtlsLog.InternalError(Logger, Remote, ex);
        }
        finally
        {
            await FlushAndReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends the outbox and releases the lock. The outbox is sent in place: only lock holders add to it, and
    /// the lock is held until every send has completed, after which its pooled buffers are returned. The
    /// transport therefore must not keep a datagram after its SendAsync completed.
    /// </summary>
    private async ValueTask FlushAndReleaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_outgoing.Buffer is { } first)
            {
                IPEndPoint remote = Remote;
                await _owner.SendDatagramAsync(first.AsMemory(0, _outgoing.Length), remote, cancellationToken).ConfigureAwait(false);
                for (int i = 0; i < (_moreOutgoing?.Count ?? 0); i++)
                {
                    OutgoingDatagram datagram = _moreOutgoing![i];
                    await _owner.SendDatagramAsync(datagram.Buffer.AsMemory(0, datagram.Length), remote, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (System.Net.Sockets.SocketException)
        {
            // UDP: a failed send is a lost datagram; retransmission covers handshakes.
        }
        finally
        {
            if (_outgoing.Buffer is { } first)
            {
                ArrayPool<byte>.Shared.Return(first);
                _outgoing = default;
            }

            if (_moreOutgoing is { } more)
            {
                foreach (OutgoingDatagram datagram in more)
                {
                    ArrayPool<byte>.Shared.Return(datagram.Buffer);
                }

                more.Clear();
                if (IsEstablished)
                {
                    _moreOutgoing = null; // the handshake's flights needed it; an established session rarely does
                }
            }

            ExitLock();
        }
    }

    /// <summary>Takes the connection's async lock: at once when free, otherwise in arrival order.</summary>
    private ValueTask EnterLockAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _lockHeld, 1, 0) == 0)
        {
            return ValueTask.CompletedTask;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new LockWaiter();
        if (cancellationToken.CanBeCanceled)
        {
            // Registered before the waiter is queued, so ExitLock sees it. A cancelled waiter stays queued and is skipped.
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((LockWaiter)state!).TrySetCanceled(token), waiter);
        }

        lock (this)
        {
            // Compare-and-swap here too: the fast path above takes the lock without the monitor.
            if (Interlocked.CompareExchange(ref _lockHeld, 1, 0) == 0)
            {
                waiter.Registration.Dispose();
                return ValueTask.CompletedTask;
            }

            (_lockWaiters ??= new Queue<LockWaiter>()).Enqueue(waiter);
        }

        return new ValueTask(waiter.Task);
    }

    /// <summary>Hands the lock to the oldest waiter that still waits, or frees it.</summary>
    private void ExitLock()
    {
        lock (this)
        {
            while (_lockWaiters is { Count: > 0 } waiters)
            {
                LockWaiter next = waiters.Dequeue();
                if (next.TrySetResult())
                {
                    next.Registration.Dispose();
                    if (waiters.Count == 0 && IsEstablished)
                    {
                        _lockWaiters = null; // contention is rare once established: the queue need not stay
                    }

                    return; // the lock passes to it without being freed
                }
            }

            Volatile.Write(ref _lockHeld, 0);
        }
    }

    /// <summary>The retransmission timer of the flight in flight (RFC 6347 §4.2.4.1), with its doubling timeout and its count.</summary>
    private sealed class Retransmission
    {
        public ITimer? Timer { get; set; }

        /// <summary>Bumped on every arming, so that a callback of an earlier arming does nothing.</summary>
        public int Generation { get; set; }

        public TimeSpan Timeout { get; set; }

        public int Count { get; set; }
    }

    /// <summary>A task waiting for the connection lock; its continuation runs on the thread pool, not inside ExitLock.</summary>
    private sealed class LockWaiter() : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public CancellationTokenRegistration Registration { get; set; }
    }

    /// <summary>One entry of a flight: a handshake message (Type set) or ChangeCipherSpec (Type null), with its epoch.</summary>
    protected readonly record struct FlightItem(ushort Epoch, HandshakeType? Type, ushort MessageSeq, byte[] Body);

    /// <summary>A datagram waiting in the outbox: a pooled buffer and the length written into it.</summary>
    private readonly record struct OutgoingDatagram(byte[] Buffer, int Length);

    /// <summary>One accepted record: its real content type and payload (plaintext), and for epoch 1 the pooled buffer holding it.</summary>
    private readonly record struct InboundRecord(ushort Epoch, ContentType Type, ReadOnlyMemory<byte> Payload, bool IsNewest, byte[]? Pooled);
}
