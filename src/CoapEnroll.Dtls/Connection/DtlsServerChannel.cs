using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Dtls;

/// <summary>
/// A DTLS 1.2 server as an <see cref="IDatagramChannel"/> over one UDP socket (or any datagram transport).
/// One internal receive loop reads the transport and routes each datagram: by connection ID for tls12_cid
/// records (RFC 9146), otherwise by address. A ClientHello without a valid cookie gets a stateless
/// HelloVerifyRequest and allocates nothing (RFC 6347 §4.2.1); only a cookie-verified ClientHello creates a
/// connection, also when the address already has one (attack #13). <see cref="ReceiveAsync"/> returns
/// decrypted application data with a <see cref="DtlsSessionEndPoint"/> as the remote endpoint;
/// <see cref="SendAsync"/> encrypts to the session's current address.
/// A pending <see cref="ReceiveAsync"/> is completed on the receive loop's thread (the transport's receive thread when it has one,
/// <see cref="DedicatedUdpDatagramChannel"/>): the caller's continuation runs there up to its first real wait, and a reply it
/// sends meanwhile leaves through that transport's batched send. The caller must not block in it. A caller that is busy
/// finds the data queued, at most <see cref="MaxQueuedApplicationData"/> datagrams for all sessions and
/// <see cref="MaxQueuedApplicationDataPerSession"/> for one; beyond that they are dropped (<see cref="DroppedApplicationData"/>).
/// The steps of a certificate handshake after the ServerHello are not processed on the receive loop: each costs up to milliseconds
/// of public-key work (the client's chain, ECDH, signatures), and on the loop it would hold every other peer's datagrams in the
/// socket's buffer, which overflows under a burst of handshakes. Nor is any handshake step that has to wait (an asynchronous PSK
/// lookup): the loop goes on, and the connection's later datagrams wait behind the step. The cheap steps (ClientHello, PSK) run on
/// the loop, since handing them to the pool costs more than they do. Datagrams that do not run on the loop are copied to a queue of
/// their connection, processed in order by one thread-pool work item at a time per connection, with at most <see cref="MaxHandshakeWorkers"/> such work items
/// for the channel (so that handshakes, however many, take only that share of the thread pool); at most
/// <see cref="MaxQueuedHandshakeDatagramsPerConnection"/> datagrams and <see cref="MaxQueuedHandshakeBytesPerConnection"/> bytes wait
/// for one connection and <see cref="MaxQueuedHandshakeBytes"/> for all; beyond that they are dropped, and the peer's retransmission
/// comes again. A cookie-verified ClientHello is admitted only when the queue has room for it.
/// </summary>
public sealed class DtlsServerChannel : IDatagramChannel, IDtlsConnectionOwner
{
    private const int ReceiveBufferSize = 65536;

    /// <summary>Decrypted datagrams held for a caller that is not receiving, for all sessions together.</summary>
    public const int MaxQueuedApplicationData = 1024;

    /// <summary>Decrypted datagrams held for a caller that is not receiving, for one session.</summary>
    public const int MaxQueuedApplicationDataPerSession = 128;

    /// <summary>Datagrams waiting for a connection in its handshake (a client's flight is a few).</summary>
    public const int MaxQueuedHandshakeDatagramsPerConnection = 16;

    /// <summary>Bytes waiting for a connection in its handshake; <see cref="DtlsServerOptions.MaxHandshakesPerAddress"/> times this bounds an address.</summary>
    public const int MaxQueuedHandshakeBytesPerConnection = 16 * 1024;

    /// <summary>Bytes waiting for all connections in their handshakes together.</summary>
    public const int MaxQueuedHandshakeBytes = 8 * 1024 * 1024;

    /// <summary>Thread-pool work items processing handshake datagrams at once: twice the processors, at least 4.</summary>
    public static int MaxHandshakeWorkers { get; } = Math.Max(4, 2 * Environment.ProcessorCount);

    private readonly IDatagramChannel _transport;
    private readonly DtlsServerOptions _options;
    private readonly ILogger _logger;
    private readonly HelloCookieProtector _cookies;
    private readonly Lock _tableLock = new();
    private readonly Dictionary<IPEndPoint, DtlsServerConnection> _byAddress = [];
    private readonly Dictionary<byte[], DtlsServerConnection> _byConnectionId = new(ConnectionIdComparer.Instance);
    private readonly Dictionary<byte[], DtlsServerConnection>.AlternateLookup<ReadOnlySpan<byte>> _byConnectionIdSpan;
    private readonly HashSet<DtlsServerConnection> _all = [];
    private readonly AddressCounts _connectionsPerAddress = new();
    // Each queued datagram owns a pooled buffer: ReceiveAsync returns it, and so does a delivery the inbox drops.
    private readonly ApplicationDataInbox _inbox = new(MaxQueuedApplicationData, MaxQueuedApplicationDataPerSession);
    private readonly HandshakeAdmission _handshakes;
    private readonly ReportThrottle _refusalReports = new(TimeSpan.FromSeconds(10));
    private readonly ReportThrottle _backlogReports = new(TimeSpan.FromSeconds(10));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiveLoop;
    private readonly ITimer _evictionTimer;
    private readonly Func<DtlsServerConnection, byte[]> _allocateConnectionId;
    private readonly ILogger? _connectionLogger; // one for all connections: a Logger<T> per connection stayed with every session
    // Handshake datagrams waiting to be processed off the receive loop, by connection; an entry lives while it has datagrams.
    private readonly Lock _backlogLock = new();
    private readonly Dictionary<DtlsServerConnection, HandshakeBacklog> _backlogs = [];
    private long _backlogBytes; // under _backlogLock
    private int _handshakeWorkers; // work items draining backlogs, under _backlogLock
    private readonly Queue<DtlsServerConnection> _readyBacklogs = new(); // backlogs waiting for a work item, under _backlogLock
    private long _backlogDropped;
    private int _disposed;

    /// <summary>
    /// Runs a DTLS server over <paramref name="transport"/>, which the channel then owns. Outgoing datagrams are
    /// pooled buffers: the transport must not keep one after its SendAsync completed (copy it to queue it).
    /// </summary>
    public DtlsServerChannel(IDatagramChannel transport, DtlsServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _transport = transport;
        _options = options;
        _byConnectionIdSpan = _byConnectionId.GetAlternateLookup<ReadOnlySpan<byte>>();
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger<DtlsServerChannel>() ?? NullLogger.Instance;
        _cookies = new HelloCookieProtector(options.CookieSecretRotationInterval, options.TimeProvider);
        _handshakes = new HandshakeAdmission(options.MaxHandshakes, options.MaxHandshakesPerAddress);
        _allocateConnectionId = AllocateConnectionId; // one delegate for all connections, not one per connection
        _connectionLogger = options.LoggerFactory?.CreateLogger<DtlsServerConnection>();
        TimeSpan sweep = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(30).Ticks));
        _evictionTimer = options.TimeProvider.CreateTimer(_ => _ = EvictIdleAsync(), null, sweep, sweep);
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>Binds a UDP socket (<see cref="IPAddress.IPv6Any"/> serves both families) and runs a DTLS server on it.</summary>
    public static DtlsServerChannel Bind(IPEndPoint localEndPoint, DtlsServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DtlsServerChannel(UdpDatagramChannel.Bind(localEndPoint, options.PathMtu), options);
    }

    public EndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>
    /// PMTU minus the largest record expansion: header 13, explicit nonce 8, tag 16, and a CID of up to 16
    /// bytes with its inner content type (RFC 9146 §4).
    /// </summary>
    public int MaxDatagramSize => _options.PathMtu - (DtlsRecordCodec.HeaderLength + 8 + 16 + 16 + 1);

    /// <summary>Connections in the table (handshaking and established).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_tableLock)
            {
                return _all.Count;
            }
        }
    }

    /// <summary>Connections admitted with a valid cookie and not yet established.</summary>
    public int HandshakeCount
    {
        get
        {
            lock (_tableLock)
            {
                return _handshakes.Count;
            }
        }
    }

    /// <summary>Decrypted datagrams dropped because the caller was not receiving and a bound of the queue was reached.</summary>
    public long DroppedApplicationData => _inbox.Dropped;

    /// <summary><see cref="MaxQueuedHandshakeBytes"/>, lower in tests.</summary>
    internal int BacklogByteLimit { get; set; } = MaxQueuedHandshakeBytes;

    /// <summary>Datagrams of connections in their handshakes dropped because a bound of their queue was reached (for tests).</summary>
    internal long DroppedHandshakeDatagrams => Interlocked.Read(ref _backlogDropped);

    /// <summary>Datagrams of connections in their handshakes waiting to be processed (for tests).</summary>
    internal int QueuedHandshakeDatagrams
    {
        get
        {
            lock (_backlogLock)
            {
                return _backlogs.Values.Sum(b => b.Datagrams.Count);
            }
        }
    }

    /// <summary>Decrypted datagrams waiting for the caller (for tests).</summary>
    internal int QueuedApplicationData => _inbox.Count;

    /// <summary>The smallest table capacity the idle sweep trims (<see cref="SparseTables.DefaultMinimumCapacity"/>, lower in tests).</summary>
    internal int TableTrimMinimumCapacity { get; set; } = SparseTables.DefaultMinimumCapacity;

    /// <summary>Entries the connection table has room for (for tests: it shrinks after a peak).</summary>
    internal int ConnectionTableCapacity
    {
        get
        {
            lock (_tableLock)
            {
                return _all.EnsureCapacity(0);
            }
        }
    }

    /// <summary>
    /// The next decrypted datagram, one receive at a time (a second concurrent one throws <see cref="InvalidOperationException"/>).
    /// A datagram longer than <paramref name="buffer"/> is cut, as UDP would.
    /// </summary>
    public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _inbox.ReceiveAsync(buffer, cancellationToken);
    }

    /// <summary>
    /// Receives like <see cref="ReceiveAsync"/>, but a close ends it with <see cref="DatagramReceiveResult.Closed"/>: the inbox's one
    /// reusable receive, where the interface's default would allocate a state machine for every datagram that is waited for.
    /// </summary>
    public ValueTask<DatagramReceiveResult> ReceiveOrClosedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        => Volatile.Read(ref _disposed) != 0
            ? ValueTask.FromResult(DatagramReceiveResult.Closed)
            : _inbox.ReceiveAsync(buffer, closedAsResult: true, cancellationToken);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (remoteEndPoint is not DtlsSessionEndPoint { Connection: DtlsServerConnection } session)
        {
            throw new ArgumentException("Not a DTLS server session.", nameof(remoteEndPoint));
        }

        // A closed or evicted session drops the datagram, like UDP would.
        if (TryGetConnection(session, out DtlsServerConnection? connection))
        {
            await connection.SendApplicationDataAsync(datagram, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes one session with close_notify.</summary>
    public async ValueTask CloseSessionAsync(DtlsSessionEndPoint session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (TryGetConnection(session, out DtlsServerConnection? connection))
        {
            await connection.CloseAsync(sendCloseNotify: true, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _evictionTimer.DisposeAsync().ConfigureAwait(false);

        // First, so that a handshake step waiting on the token (a PSK lookup) gives up its connection's lock for the close below.
        await _stop.CancelAsync().ConfigureAwait(false);
        DtlsServerConnection[] connections;
        lock (_tableLock)
        {
            connections = [.. _all];
        }

        foreach (DtlsServerConnection connection in connections)
        {
            try
            {
                await connection.CloseAsync(sendCloseNotify: connection.IsEstablished, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException)
            {
            }
        }

        await _transport.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
        }

        // Unread datagrams hold decrypted application data: zero them back into the pool.
        _inbox.Close(discardQueued: true);

        _cookies.Dispose();
        _stop.Dispose();
    }

    private bool TryGetConnection(DtlsSessionEndPoint session, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DtlsServerConnection? connection)
    {
        connection = session.Connection as DtlsServerConnection;
        lock (_tableLock)
        {
            // Only sessions of this server's table (O(1)); a closed or evicted one is gone from it.
            return connection is not null && _all.Contains(connection);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[ReceiveBufferSize];
        CancellationToken ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            DatagramReceiveResult result;
            try
            {
                result = await _transport.ReceiveAsync(buffer, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // Stopping (cancelled, or the socket was disposed under the pending receive), or the transport is broken.
                break;
            }

            if (result.RemoteEndPoint is not IPEndPoint from)
            {
                continue;
            }

            try
            {
                await DispatchAsync(buffer.AsMemory(0, result.ReceivedBytes), from, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                DtlsLog.InternalError(_logger, from, ex);
            }
        }

        // What is queued stays readable; then the reader gets ObjectDisposedException.
        _inbox.Close(discardQueued: false);
    }

    private async ValueTask DispatchAsync(ReadOnlyMemory<byte> datagram, IPEndPoint from, CancellationToken ct)
    {
        int cidLength = _options.EnableConnectionId ? _options.ConnectionIdLength : 0;
        if (DtlsRecordCodec.TryReadRecord(datagram.Span, cidLength, out DtlsRecord first, out _) != RecordParseStatus.Success)
        {
            DtlsLog.Dropped(_logger, from, "unparsable datagram");
            return;
        }

        DtlsServerConnection? connection;
        if (first.HasConnectionId)
        {
            lock (_tableLock)
            {
                _byConnectionIdSpan.TryGetValue(first.ConnectionId, out connection);
            }

            if (connection is null)
            {
                DtlsLog.Dropped(_logger, from, "record with an unknown connection ID");
                return;
            }

            await ProcessAsync(connection, datagram, from, ct).ConfigureAwait(false);
            return;
        }

        lock (_tableLock)
        {
            _byAddress.TryGetValue(from, out connection);
        }

        bool isClientHello = false;
        HandshakeHeader header = default;
        if (first.Epoch == 0 && first.ContentType == ContentType.Handshake &&
            HandshakeHeader.TryRead(first.Payload, out header, out ReadOnlySpan<byte> fragment, out _) && header.Type == HandshakeType.ClientHello)
        {
            isClientHello = true;
            // A retransmission of the ClientHello that created a handshaking connection goes to it: it repeats its flight.
            if (connection is not null && !connection.IsEstablished && fragment.Length >= 34 && connection.HasClientRandom(fragment.Slice(2, 32)))
            {
                await ProcessAsync(connection, datagram, from, ct).ConfigureAwait(false);
                return;
            }
        }

        if (!isClientHello)
        {
            if (connection is null)
            {
                // Attack #12 and anything else from an unknown address before a ClientHello: dropped.
                DtlsLog.Dropped(_logger, from, $"{first.ContentType} record from an address without a connection");
                return;
            }

            await ProcessAsync(connection, datagram, from, ct).ConfigureAwait(false);
            return;
        }

        await HandleClientHelloAsync(datagram, from, header, connection, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// RFC 6347 §4.2.1: verify the cookie statelessly; without a valid one answer with a HelloVerifyRequest no
    /// larger than the ClientHello and keep nothing. A new connection is created only for a verified cookie.
    /// </summary>
    private async ValueTask HandleClientHelloAsync(ReadOnlyMemory<byte> datagram, IPEndPoint from, HandshakeHeader header,
        DtlsServerConnection? existing, CancellationToken ct)
    {
        byte[]? helloVerifyRequest = null;
        bool verified;
        ulong clientHelloRecordSequence;
        byte[]? clientRandom = null;
        {
            DtlsRecordCodec.TryReadRecord(datagram.Span, 0, out DtlsRecord record, out _);
            clientHelloRecordSequence = record.SequenceNumber;
            HandshakeHeader.TryRead(record.Payload, out _, out ReadOnlySpan<byte> body, out _);
            if (!header.IsComplete)
            {
                DtlsLog.Dropped(_logger, from, "fragmented ClientHello before the cookie exchange");
                return;
            }

            verified = _cookies.Verify(from, body);
            if (!verified)
            {
                Span<byte> cookie = stackalloc byte[HelloCookieProtector.CookieLength];
                if (!_cookies.TryCreateCookie(from, body, cookie))
                {
                    DtlsLog.Dropped(_logger, from, "malformed ClientHello");
                    return;
                }

                byte[] hvrBody = new HelloVerifyRequest { ServerVersion = DtlsVersion.Dtls10, Cookie = cookie.ToArray() }.Encode();
                byte[] fragment = new byte[HandshakeHeader.Size + hvrBody.Length];
                HandshakeFragmenter.WriteFragment(fragment, HandshakeType.HelloVerifyRequest, header.MessageSeq, hvrBody, 0, hvrBody.Length);
                helloVerifyRequest = new byte[DtlsRecordCodec.HeaderLength + fragment.Length];
                // §4.2.1: the HelloVerifyRequest reuses the ClientHello's record sequence number.
                DtlsRecordCodec.WritePlaintextRecord(helloVerifyRequest, ContentType.Handshake, record.SequenceNumber, fragment, DtlsVersion.Dtls10);
                if (helloVerifyRequest.Length > datagram.Length)
                {
                    DtlsLog.Dropped(_logger, from, "ClientHello smaller than our HelloVerifyRequest");
                    return;
                }
            }
            else if (existing is not null && existing.HasClientRandom(body.Slice(2, 32)))
            {
                DtlsLog.Dropped(_logger, from, "replayed ClientHello of an existing connection");
                return;
            }
            else
            {
                clientRandom = body.Slice(2, 32).ToArray();
            }
        }

        if (helloVerifyRequest is not null)
        {
            await _transport.SendAsync(helloVerifyRequest, from, ct).ConfigureAwait(false);
            return;
        }

        // While the handshakes under way fill the queue, their next flights are dropped already: a new handshake is not admitted to add
        // to them. The client's retransmission comes back when the queue has room. (The ClientHello itself runs on the loop.)
        if (!HasBacklogRoomFor(datagram.Length))
        {
            ReportBacklogDrop(from, "global");
            return;
        }

        DtlsServerConnection? connection = null;
        HandshakeBound refused;
        lock (_tableLock)
        {
            UInt128 key = HandshakeAdmission.AddressKey(from.Address);
            refused = _all.Count >= _options.MaxConnections ? HandshakeBound.Connections : _handshakes.Check(key);
            int ofAddress = _connectionsPerAddress[key];
            bool supersedesOne = existing is not null && existing.CountedAddress == key && _all.Contains(existing);
            // At its bound an address still gets in while it has an established session that the new one can take the place of
            // once it is established itself (OnEstablished): a cookie proves only that the sender receives at the address, so the
            // ClientHello alone closes nothing. With only handshakes in progress there is nothing to take the place of.
            if (refused == HandshakeBound.None && ofAddress >= _options.MaxConnectionsPerAddress && !supersedesOne
                && ofAddress - _handshakes.CountOf(key) == 0)
            {
                refused = HandshakeBound.AddressConnections;
            }

            if (refused == HandshakeBound.None)
            {
                connection = Admit(from, key, header, clientHelloRecordSequence, clientRandom!, existing);
            }
        }

        if (connection is null)
        {
            ReportRefused(from, refused);
            return;
        }

        await ProcessAsync(connection, datagram, from, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// An established session's datagram is processed here, on the receive loop (its application data reaches a waiting reader on this
    /// thread); a handshaking connection's runs here too (ProcessInline) or goes to its backlog (see the type's remarks). A datagram that reaches a session while older
    /// ones of its handshake still wait is processed before them; DTLS orders by record sequence number, not arrival, so that is a reordering
    /// the protocol already absorbs.
    /// </summary>
    private ValueTask ProcessAsync(DtlsServerConnection connection, ReadOnlyMemory<byte> datagram, IPEndPoint from, CancellationToken ct)
    {
        if (connection.IsEstablished)
        {
            return connection.ProcessDatagramAsync(datagram, from, ct);
        }

        // Only the loop adds backlogs, so none appears for this connection while the step below runs inline. A certificate handshake's
        // steps after the ServerHello (the client's chain, ECDH, CertificateVerify) go to the pool; a PSK handshake's steps and every
        // ClientHello cost little and run here, unless they wait (ProcessInline).
        bool queue;
        lock (_backlogLock)
        {
            queue = _backlogs.ContainsKey(connection);
        }

        if (!queue && connection.Suite?.KeyExchange != KeyExchangeKind.EcdheEcdsa)
        {
            ProcessInline(connection, datagram, from, ct);
            return ValueTask.CompletedTask;
        }

        bool start = false;
        string? dropped = null;
        lock (_backlogLock)
        {
            if (!_backlogs.TryGetValue(connection, out HandshakeBacklog? backlog))
            {
                backlog = new HandshakeBacklog();
                _backlogs.Add(connection, backlog);
            }

            bool full = backlog.Datagrams.Count >= MaxQueuedHandshakeDatagramsPerConnection
                || backlog.Bytes + datagram.Length > MaxQueuedHandshakeBytesPerConnection;
            if (full || _backlogBytes + datagram.Length > BacklogByteLimit)
            {
                if (!backlog.Running)
                {
                    _backlogs.Remove(connection); // made for this datagram, or left empty: no work item will look for it
                }

                dropped = full ? "connection" : "global";
            }
            else
            {
                byte[] copy = ArrayPool<byte>.Shared.Rent(datagram.Length);
                datagram.Span.CopyTo(copy);
                backlog.Datagrams.Enqueue((copy, datagram.Length, from));
                backlog.Bytes += datagram.Length;
                _backlogBytes += datagram.Length;
                if (!backlog.Running)
                {
                    // Running from here on means "has a work item or waits for one in _readyBacklogs".
                    backlog.Running = true;
                    if (_handshakeWorkers < MaxHandshakeWorkers)
                    {
                        _handshakeWorkers++;
                        start = true;
                    }
                    else
                    {
                        _readyBacklogs.Enqueue(connection);
                    }
                }
            }
        }

        if (dropped is not null)
        {
            ReportBacklogDrop(from, dropped);
            return ValueTask.CompletedTask;
        }

        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Channel.DrainBacklogAsync(state.Connection, state.Ct), (Channel: this, Connection: connection, Ct: ct),
                preferLocal: false);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Processes a handshake datagram on the loop. When the step does not complete at once (an asynchronous PSK lookup, the
    /// connection's lock held by its retransmission timer), the loop goes on: the step finishes on its own, and the connection's next
    /// datagrams queue behind it in a backlog that a work item drains once it has finished.
    /// </summary>
    private void ProcessInline(DtlsServerConnection connection, ReadOnlyMemory<byte> datagram, IPEndPoint from, CancellationToken ct)
    {
        // A copy, since the step may still read it after the loop has reused its buffer.
        byte[] copy = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.Span.CopyTo(copy);
        ValueTask pending = connection.ProcessDatagramAsync(copy.AsMemory(0, datagram.Length), from, ct);
        if (pending.IsCompleted)
        {
            try
            {
                pending.GetAwaiter().GetResult();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
            }

            return;
        }

        lock (_backlogLock)
        {
            // Counted as a work item from here on (it may pass MaxHandshakeWorkers: it started before it was one).
            _backlogs.Add(connection, new HandshakeBacklog { Running = true });
            _handshakeWorkers++;
        }

        _ = FinishThenDrainAsync(pending, copy, from, connection, ct);
    }

    private async Task FinishThenDrainAsync(ValueTask pending, byte[] copy, IPEndPoint from, DtlsServerConnection connection, CancellationToken ct)
    {
        await FinishStepAsync(pending, copy, from, ct).ConfigureAwait(false);
        await DrainBacklogAsync(connection, ct).ConfigureAwait(false);
    }

    /// <summary>Waits for a handshake step off the loop, logs what it threw unless the channel is stopping, and returns its copy to the pool.</summary>
    private async Task FinishStepAsync(ValueTask step, byte[] copy, IPEndPoint from, CancellationToken ct)
    {
        try
        {
            await step.ConfigureAwait(false);
        }
        catch (Exception ex) when (ct.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping: the channel closed its connections and its transport.
        }
        catch (Exception ex)
        {
            DtlsLog.InternalError(_logger, from, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private bool HasBacklogRoomFor(int length)
    {
        lock (_backlogLock)
        {
            return _backlogBytes + length <= BacklogByteLimit;
        }
    }

    private void ReportBacklogDrop(IPEndPoint from, string bound)
    {
        Interlocked.Increment(ref _backlogDropped);
        DtlsMetrics.HandshakeDatagramsDropped.Add(1, new KeyValuePair<string, object?>("bound", bound));
        if (_backlogReports.TryReport(_options.TimeProvider.GetTimestamp(), _options.TimeProvider, out long heldBack))
        {
            DtlsLog.HandshakeDatagramDropped(_logger, from, bound, heldBack);
        }
    }

    /// <summary>
    /// Processes <paramref name="connection"/>'s backlog in order until it is empty, then forgets it and goes on with the next backlog
    /// that waits for a work item, if any.
    /// </summary>
    private async Task DrainBacklogAsync(DtlsServerConnection connection, CancellationToken ct)
    {
        while (true)
        {
            (byte[] Buffer, int Length, IPEndPoint From) next;
            lock (_backlogLock)
            {
                HandshakeBacklog backlog = _backlogs[connection];
                if (!backlog.Datagrams.TryDequeue(out next))
                {
                    _backlogs.Remove(connection);
                    if (!_readyBacklogs.TryDequeue(out DtlsServerConnection? waiting))
                    {
                        _handshakeWorkers--;
                        return;
                    }

                    connection = waiting;
                    continue;
                }

                backlog.Bytes -= next.Length;
                _backlogBytes -= next.Length;
            }

            ValueTask step = ct.IsCancellationRequested ? ValueTask.CompletedTask
                : connection.ProcessDatagramAsync(next.Buffer.AsMemory(0, next.Length), next.From, ct);
            await FinishStepAsync(step, next.Buffer, next.From, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Creates and registers the connection of a cookie-verified ClientHello from the address with <paramref name="key"/>; called under the table lock.</summary>
    private DtlsServerConnection Admit(IPEndPoint from, UInt128 key, HandshakeHeader header, ulong clientHelloRecordSequence, byte[] clientRandom,
        DtlsServerConnection? existing)
    {
        // Its ClientHello may still be waiting to be processed when a retransmission of it arrives (a step that went asynchronous, see
        // ProcessInline): its random is known from here on, so that the retransmission goes to this connection instead of admitting another.
        var connection = new DtlsServerConnection(_options, this, from, header.MessageSeq, clientHelloRecordSequence, clientRandom, _allocateConnectionId,
            _connectionLogger);
        // Attack #13: an existing association is only replaced after the new ClientHello proved its address,
        // and it stays reachable by CID until the new handshake completes.
        if (existing is not null)
        {
            connection.Supersedes = existing;
        }

        _byAddress[from] = connection;
        _all.Add(connection);
        CountAddress(connection, key);
        _handshakes.Add(connection, key);
        DtlsMetrics.ConnectionsActive.Add(1);
        DtlsMetrics.HandshakesActive.Add(1);
        return connection;
    }

    /// <summary>Counts a ClientHello refused at a bound, and logs it at most every 10 s with the refusals held back meanwhile.</summary>
    private void ReportRefused(IPEndPoint from, HandshakeBound bound)
    {
        (string tag, string key, int max) = bound switch
        {
            HandshakeBound.Address => ("address", "Dtls:MaxHandshakesPerAddress", _options.MaxHandshakesPerAddress),
            HandshakeBound.Global => ("global", "Dtls:MaxHandshakes", _options.MaxHandshakes),
            HandshakeBound.AddressConnections => ("address-connections", "Dtls:MaxConnectionsPerAddress", _options.MaxConnectionsPerAddress),
            _ => ("connections", "Dtls:MaxConnections", _options.MaxConnections),
        };
        DtlsMetrics.HandshakesRefused.Add(1, new KeyValuePair<string, object?>("bound", tag));
        if (_refusalReports.TryReport(_options.TimeProvider.GetTimestamp(), _options.TimeProvider, out long heldBack))
        {
            DtlsLog.HandshakeRefused(_logger, from, key, max, heldBack);
        }
    }

    /// <summary>The connections, handshaking or established (for tests that inspect what a session holds).</summary>
    internal DtlsServerConnection[] GetConnections()
    {
        lock (_tableLock)
        {
            return [.. _all];
        }
    }

    private byte[] AllocateConnectionId(DtlsServerConnection connection)
    {
        if (_options.ConnectionIdLength == 0)
        {
            return [];
        }

        lock (_tableLock)
        {
            while (true)
            {
                byte[] cid = RandomNumberGenerator.GetBytes(_options.ConnectionIdLength);
                _options.ConnectionIdPrefix.CopyTo(cid, 0);
                if (_byConnectionId.TryAdd(cid, connection))
                {
                    return cid;
                }
            }
        }
    }

    private async Task EvictIdleAsync()
    {
        try
        {
            var expired = new List<DtlsServerConnection>();
            lock (_tableLock)
            {
                foreach (DtlsServerConnection connection in _all)
                {
                    if (_options.TimeProvider.GetElapsedTime(connection.LastActivity) > _options.IdleTimeout)
                    {
                        expired.Add(connection);
                    }
                }
            }

            foreach (DtlsServerConnection connection in expired)
            {
                DtlsLog.Evicted(_logger, connection.Remote, _options.IdleTimeout);
                await connection.CloseAsync(sendCloseNotify: false, _stop.Token).ConfigureAwait(false);
            }

            TrimTables();
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// After a peak of sessions, gives the tables' memory back (<see cref="SparseTables"/>). A trim rehashes under the table lock, which
    /// holds the receive loop for about as long as a lookup per remaining entry; it happens only when a table fell below a quarter full.
    /// </summary>
    private void TrimTables()
    {
        int minimum = TableTrimMinimumCapacity;
        lock (_tableLock)
        {
            SparseTables.TrimIfSparse(_all, minimum);
            SparseTables.TrimIfSparse(_byAddress, minimum);
            SparseTables.TrimIfSparse(_byConnectionId, minimum);
            _connectionsPerAddress.TrimIfSparse(minimum);
            _handshakes.TrimIfSparse(minimum);
        }

        lock (_backlogLock)
        {
            SparseTables.TrimIfSparse(_backlogs, minimum);
        }
    }

    ValueTask IDtlsConnectionOwner.SendDatagramAsync(ReadOnlyMemory<byte> datagram, IPEndPoint remote, CancellationToken cancellationToken) =>
        _transport.SendAsync(datagram, remote, cancellationToken);

    void IDtlsConnectionOwner.OnEstablished(DtlsConnection connection)
    {
        ReleaseHandshake((DtlsServerConnection)connection);
        MakeRoomAtAddress((DtlsServerConnection)connection);
        if (connection is DtlsServerConnection { Supersedes: { } previous } server)
        {
            server.Supersedes = null;
            _ = previous.CloseAsync(sendCloseNotify: false, CancellationToken.None).AsTask();
        }
    }

    void IDtlsConnectionOwner.OnClosed(DtlsConnection connection, Exception? error)
    {
        var server = (DtlsServerConnection)connection;
        ReleaseHandshake(server);
        lock (_tableLock)
        {
            if (_all.Remove(server))
            {
                UncountAddress(server);
                DtlsMetrics.ConnectionsActive.Add(-1);
            }

            if (_byAddress.TryGetValue(server.Remote, out DtlsServerConnection? mapped) && ReferenceEquals(mapped, server))
            {
                _byAddress.Remove(server.Remote);
            }

            if (server.LocalConnectionId.Length > 0)
            {
                if (_byConnectionId.TryGetValue(server.LocalConnectionId, out mapped) && ReferenceEquals(mapped, server))
                {
                    _byConnectionId.Remove(server.LocalConnectionId);
                }
            }
        }
    }

    private void ReleaseHandshake(DtlsServerConnection connection)
    {
        bool released;
        lock (_tableLock)
        {
            released = _handshakes.Release(connection);
        }

        if (released)
        {
            DtlsMetrics.HandshakesActive.Add(-1);
        }
    }

    // Called by the connection after it released its lock, on the receive loop (or on the handshake work item that processed the
    // datagram, for one that came before the connection was established): the reader's continuation may run here.
    void IDtlsConnectionOwner.OnApplicationData(DtlsConnection connection, PooledDatagram data) => _inbox.Deliver(data, connection);

    void IDtlsConnectionOwner.OnRemoteChanged(DtlsConnection connection, IPEndPoint previous)
    {
        var server = (DtlsServerConnection)connection;
        lock (_tableLock)
        {
            if (_byAddress.TryGetValue(previous, out DtlsServerConnection? mapped) && ReferenceEquals(mapped, server))
            {
                _byAddress.Remove(previous);
            }

            _byAddress[server.Remote] = server;
            UInt128 key = HandshakeAdmission.AddressKey(server.Remote.Address);
            if (key != server.CountedAddress && _all.Contains(server))
            {
                UncountAddress(server);
                CountAddress(server, key);
            }
        }
    }

    /// <summary>
    /// Once <paramref name="established"/> completed its handshake, closes the least recently active other established session of its
    /// address when the address holds more than <see cref="DtlsServerOptions.MaxConnectionsPerAddress"/>: the address costs only
    /// itself, and silent devices behind one NAT address make room for new ones. Only a completed handshake does this (a full
    /// handshake's cost to the peer each time); the session it supersedes, closed anyway, is not counted.
    /// </summary>
    private void MakeRoomAtAddress(DtlsServerConnection established)
    {
        DtlsServerConnection? evicted = null;
        lock (_tableLock)
        {
            if (!_all.Contains(established))
            {
                return;
            }

            UInt128 key = established.CountedAddress;
            DtlsServerConnection? superseded = established.Supersedes is { } previous && previous.CountedAddress == key && _all.Contains(previous)
                ? previous : null;
            int count = _connectionsPerAddress[key] - (superseded is null ? 0 : 1);
            if (count > _options.MaxConnectionsPerAddress)
            {
                evicted = TakeLeastRecentlyActive(key, established, superseded);
            }
        }

        if (evicted is not null)
        {
            DtlsMetrics.ConnectionsEvicted.Add(1, new KeyValuePair<string, object?>("bound", "address-connections"));
            DtlsLog.EvictedForAddress(_logger, evicted.Remote, _options.MaxConnectionsPerAddress);
            _ = evicted.CloseAsync(sendCloseNotify: true, CancellationToken.None).AsTask();
        }
    }

    /// <summary>
    /// Takes the established connection of <paramref name="key"/> that was active least recently, other than the two given, out of the
    /// table, to be closed by the caller, or returns null when there is none. Called under the table lock, only when the address is
    /// past its bound: a scan of the table, which a completed handshake from that address pays for.
    /// </summary>
    private DtlsServerConnection? TakeLeastRecentlyActive(UInt128 key, DtlsServerConnection keep, DtlsServerConnection? alsoKeep)
    {
        DtlsServerConnection? oldest = null;
        foreach (DtlsServerConnection candidate in _all)
        {
            if (candidate.CountedAddress == key && candidate.IsEstablished && !ReferenceEquals(candidate, keep) && !ReferenceEquals(candidate, alsoKeep)
                && (oldest is null || candidate.LastActivity < oldest.LastActivity))
            {
                oldest = candidate;
            }
        }

        if (oldest is not null)
        {
            // Out of the table at once, so that the next admission from the address does not pick it again; its close removes
            // what else refers to it.
            _all.Remove(oldest);
            UncountAddress(oldest);
            DtlsMetrics.ConnectionsActive.Add(-1);
        }

        return oldest;
    }

    /// <summary>Counts <paramref name="connection"/> under <paramref name="key"/>; called under the table lock.</summary>
    private void CountAddress(DtlsServerConnection connection, UInt128 key)
    {
        connection.CountedAddress = key;
        _connectionsPerAddress.Increment(key);
    }

    /// <summary>Stops counting <paramref name="connection"/> under its address; called under the table lock.</summary>
    private void UncountAddress(DtlsServerConnection connection) => _connectionsPerAddress.Decrement(connection.CountedAddress);

    /// <summary>How many connections the table holds from <paramref name="address"/> (its IPv4 address or IPv6 /64; for tests).</summary>
    internal int ConnectionsOfAddress(IPAddress address)
    {
        lock (_tableLock)
        {
            return _connectionsPerAddress[HandshakeAdmission.AddressKey(address)];
        }
    }

    /// <summary>Copies of one handshaking connection's datagrams in arrival order, and whether a work item is processing them; under <see cref="_backlogLock"/>.</summary>
    private sealed class HandshakeBacklog
    {
        public Queue<(byte[] Buffer, int Length, IPEndPoint From)> Datagrams { get; } = new();

        public int Bytes { get; set; }

        public bool Running { get; set; }
    }
}
