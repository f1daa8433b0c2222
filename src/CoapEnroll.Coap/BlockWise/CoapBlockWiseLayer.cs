using System.Buffers;
using System.Net;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Coap;

/// <summary>
/// Server-side block-wise transfers (RFC 7959) as a request-handler layer. Request bodies sent in
/// Block1 blocks are reassembled and handed to the inner handler once complete (the atomic model of
/// §2.5, answering 2.31 Continue to every non-final block); responses larger than the negotiated
/// block size are served in Block2 blocks from a per-operation cache, so the inner handler runs once
/// per operation. The inner handler sees whole bodies and never a Block1, Block2, Size1 or Size2 option.
/// </summary>
/// <remarks>
/// <para>
/// A request that cannot be served is refused before its body is held: the authorization phase (a
/// <see cref="CoapAuthorizationDelegate"/>; on a <see cref="CoapServer"/>, routing and the resource's
/// <see cref="CoapResource.RequireAuthorization"/>) runs on the first block of a Block1 transfer and on every
/// request that reaches the inner handler otherwise, and its refusal is the answer.
/// </para>
/// <para>
/// Operations are told apart by peer, method and the options of <see cref="BlockTransferKey"/>, which
/// include Request-Tag (RFC 9175 §3.3). Reassembly is bounded per peer, per source address and in total,
/// with a smaller share for unauthenticated peers (<see cref="ReassemblyBudget"/>; the bounds are in
/// <see cref="CoapServerOptions"/>), and forgotten after <see cref="CoapServerOptions.TransferLifetime"/> without a block
/// (§2.4, §2.5 allow discarding it after EXCHANGE_LIFETIME). A bound that refuses is counted
/// (<c>coap.blockwise.bound_hit</c>) and logged at most every 10 s. The response cache uses the per-peer and total
/// limits but is accounted separately, and it yields rather than refuses: when full it evicts the peer's oldest
/// cached bodies, or serves without caching.
/// </para>
/// </remarks>
public sealed partial class CoapBlockWiseLayer : ICoapRequestHandler
{
    /// <summary>
    /// <see cref="CoapRequestContext.Items"/> key under which the inner handler finds the block size
    /// (an <see cref="int"/>) the client asked for with Block2 in the request, when it did. RFC 7959 §2.6
    /// says that size SHOULD also bound the blocks of later notifications of an observation.
    /// </summary>
    public static readonly object RequestedBlockSizeKey = new();

    /// <summary>The shortest time between two log lines about reassembly bounds.</summary>
    internal static readonly TimeSpan BoundReportInterval = TimeSpan.FromSeconds(10);

    private readonly ICoapRequestHandler _inner;
    private readonly CoapAuthorizationDelegate? _authorize;
    private readonly CoapServerOptions _options;
    private readonly ILogger _logger;
    private readonly int _preferredBlockSize;
    private readonly Lock _lock = new();
    private readonly Dictionary<BlockTransferKey, Block1Reassembly> _reassemblies = [];
    private readonly ReassemblyBudget _budget;
    private readonly Dictionary<BlockTransferKey, CachedBlockResponse> _responses = [];
    private readonly Dictionary<BlockPeerKey, BlockPeerUsage> _peers = [];
    private readonly ReportThrottle _boundReports = new(BoundReportInterval);
    private long _cachedBytes;
    private long _nextSweep;

    // _responses.Count, readable without the lock on the path every request takes.
    private int _cachedResponseCount;

    /// <param name="inner">The handler that gets whole requests.</param>
    /// <param name="options">The block-wise limits.</param>
    /// <param name="authorize">
    /// The authorization phase: run before any of a request's body is held (on the first block of a Block1 transfer) and
    /// before the inner handler otherwise; its non-null answer refuses the request. Null admits everything.
    /// </param>
    /// <param name="logger">Where bound hits are reported.</param>
    /// <exception cref="ArgumentException">A limit in <paramref name="options"/> is out of range.</exception>
    public CoapBlockWiseLayer(ICoapRequestHandler inner, CoapServerOptions options, CoapAuthorizationDelegate? authorize = null, ILogger<CoapBlockWiseLayer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        options.ValidateBlockWise();
        _inner = inner;
        _authorize = authorize;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _budget = new ReassemblyBudget(options);
        _preferredBlockSize = BlockWiseHelpers.FloorBlockSize(options.PreferredBlockSize);
    }

    /// <summary>Request bodies currently being reassembled (for tests and diagnostics).</summary>
    internal int ReassemblyCount
    {
        get
        {
            lock (_lock)
            {
                return _reassemblies.Count;
            }
        }
    }

    /// <summary>Responses currently cached for Block2 continuation (for tests and diagnostics).</summary>
    internal int CachedResponseCount
    {
        get
        {
            lock (_lock)
            {
                return _responses.Count;
            }
        }
    }

    /// <summary>Bytes of request bodies held for reassembly, for all peers.</summary>
    internal long ReassemblyBytes
    {
        get
        {
            lock (_lock)
            {
                return _budget.Bytes;
            }
        }
    }

    /// <summary>Bytes of request bodies held for reassembly for unauthenticated peers.</summary>
    internal long UnauthenticatedReassemblyBytes
    {
        get
        {
            lock (_lock)
            {
                return _budget.UnauthenticatedBytes;
            }
        }
    }

    /// <summary>The smallest table capacity a sweep trims (<see cref="SparseTables.DefaultMinimumCapacity"/>, lower in tests).</summary>
    internal int TrimMinimumCapacity { get; set; } = SparseTables.DefaultMinimumCapacity;

    /// <summary>The capacities of the transfer, cached-response and per-peer tables (for tests: they shrink after a peak).</summary>
    internal (int Reassemblies, int Responses, int Peers) TableCapacities
    {
        get
        {
            lock (_lock)
            {
                return (_reassemblies.EnsureCapacity(0), _responses.EnsureCapacity(0), _peers.EnsureCapacity(0));
            }
        }
    }

    /// <summary>The capacities of the reassembly budget's per-peer and per-address tables (for tests).</summary>
    internal (int Peers, int Addresses) HolderTableCapacities
    {
        get
        {
            lock (_lock)
            {
                return _budget.TableCapacities;
            }
        }
    }

    /// <summary>Peers and source addresses with a reassembly held; both zero once everything is released.</summary>
    internal (int Peers, int Addresses) ReassemblyHolders
    {
        get
        {
            lock (_lock)
            {
                return _budget.Holders;
            }
        }
    }

    public async ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;

        // Most requests carry no block-wise option: one pass over the options tells, and spares the lookups below.
        bool blockOptions = BlockWiseHelpers.HasBlockOptions(request.Options);

        // §2.2: SZX 7 is reserved and "MUST lead to a 4.00 Bad Request response code upon reception in a request".
        if (blockOptions && (BlockWiseHelpers.HasInvalidBlockOption(request, CoapOptionNumber.Block1) || BlockWiseHelpers.HasInvalidBlockOption(request, CoapOptionNumber.Block2)))
        {
            return Error(CoapCode.BadRequest, "Block option with reserved SZX 7");
        }

        var time = context.Endpoint.TimeProvider;
        long now = time.GetTimestamp();
        long lifetime = (long)(_options.TransferLifetime.TotalSeconds * time.TimestampFrequency);
        if (now >= Volatile.Read(ref _nextSweep))
        {
            lock (_lock)
            {
                SweepLocked(now, lifetime);
            }
        }

        if (blockOptions && request.Block1 is { } block1)
        {
            var transfer = BlockTransferKey.Create(context.Endpoint, context.RemoteEndPoint, request);
            return await HandleBlock1Async(context, transfer, block1, now, lifetime, time, cancellationToken);
        }

        if (blockOptions && request.Block2 is { Number: > 0 } block2)
        {
            var transfer = BlockTransferKey.Create(context.Endpoint, context.RemoteEndPoint, request);
            return await HandleBlock2ContinuationAsync(context, transfer, block2, now, lifetime, cancellationToken);
        }

        // A whole request; with Block2 NUM=0 it also starts a block-wise response (early negotiation, §2.4).
        // The transfer key (a hash over the request) is only computed when a transfer needs it: most
        // requests and responses fit one datagram, and this path runs for every request.
        var response = await AuthorizeAsync(context, cancellationToken)
            ?? await InvokeInnerAsync(context, request.Options, request.Payload, cancellationToken);
        var served = blockOptions
            ? Serve(context.Endpoint, response, request.Block2, request.Size2 is not null)
            : Serve(context.Endpoint, response, requested: null, sizeRequested: false);
        if (served.Sliced)
        {
            StoreResponse(BlockTransferKey.Create(context.Endpoint, context.RemoteEndPoint, request), response, now);
        }
        else if (Volatile.Read(ref _cachedResponseCount) > 0)
        {
            // A representation that needs no blocks any more supersedes any cached one.
            var transfer = BlockTransferKey.Create(context.Endpoint, context.RemoteEndPoint, request);
            lock (_lock)
            {
                RemoveResponseLocked(transfer);
            }
        }

        return served.Message;
    }

    // ---- Block2 ----------------------------------------------------------------------------------

    private async ValueTask<CoapMessage> HandleBlock2ContinuationAsync(
        CoapRequestContext context, BlockTransferKey key, BlockOption block2, long now, long lifetime, CancellationToken cancellationToken)
    {
        var request = context.Request;
        CachedBlockResponse? cached;
        lock (_lock)
        {
            cached = TryGetResponseLocked(key, now, lifetime);
        }

        if (cached is not null)
        {
            var full = await cached.Response.WaitAsync(cancellationToken);

            // The rest of an observed representation is fetched with plain GETs (§2.6), whose responses carry no Observe.
            var served = Serve(context.Endpoint, full.WithoutOption(CoapOptionNumber.Observe), block2, request.Size2 is not null);
            if (!served.Message.Code.IsSuccess || served.Message.Block2 is { More: false })
            {
                // The last block has been served (or the request was out of range): the operation is over,
                // except that a Block1 operation keeps its entry for a re-sent final block (see HandleBlock1Async).
                lock (_lock)
                {
                    if (cached.FinalBlock1 is null && served.Message.Code.IsSuccess)
                    {
                        RemoveResponseLocked(key, cached);
                    }
                }
            }

            return served.Message;
        }

        // Nothing cached (never was, expired or evicted). GET and FETCH are safe (RFC 7252 §5.8, RFC 8132
        // §2), so running them again for a later block is allowed; the ETag lets the client detect a
        // changed representation (§2.4). Running any other method again would repeat its effect.
        if (request.Code != CoapCode.Get && request.Code != CoapCode.Fetch)
        {
            return Error(CoapCode.RequestEntityIncomplete, "No response body is held for this block-wise transfer; repeat the request");
        }

        // §2.6: a later block is fetched as a plain GET even if the request says Observe; it never registers.
        var response = await AuthorizeAsync(context, cancellationToken)
            ?? await InvokeInnerAsync(context, request.Options.Remove(CoapOptionNumber.Observe), request.Payload, cancellationToken);
        var result = Serve(context.Endpoint, response, block2, request.Size2 is not null);
        if (result.Sliced && result.Message.Block2 is { More: true })
        {
            StoreResponse(key, response, now);
        }

        return result.Message;
    }

    /// <summary>
    /// Cuts a notification (which bypasses this layer) to its first block, at the size the registration
    /// asked for (RFC 7959 §2.6), and keeps the whole body so that the plain GETs for the later blocks
    /// get blocks of the same representation. Set as the observe layer's ShapeNotification hook.
    /// </summary>
    /// <param name="context">The registration's request context, as this layer passed it on.</param>
    /// <param name="notification">The complete notification with its Observe option.</param>
    internal CoapMessage ShapeNotification(CoapRequestContext context, CoapMessage notification)
    {
        BlockOption? requested = context.Items.TryGetValue(RequestedBlockSizeKey, out var value) && value is int size
            ? new BlockOption(0, false, BlockOption.SizeToExponent(size))
            : null;
        var served = Serve(context.Endpoint, notification, requested, sizeRequested: false);
        if (served.Sliced)
        {
            var key = BlockTransferKey.Create(context.Endpoint, context.RemoteEndPoint, context.Request);
            StoreResponse(key, notification, context.Endpoint.TimeProvider.GetTimestamp());
        }

        return served.Message;
    }

    /// <summary>
    /// Cuts the block the request asks for out of <paramref name="response"/>. Without a Block2 option in
    /// the request a response that fits one block goes out unchanged.
    /// </summary>
    private (CoapMessage Message, bool Sliced) Serve(CoapEndpoint endpoint, CoapMessage response, BlockOption? requested, bool sizeRequested)
    {
        int length = response.Payload.Length;

        // §2.4: "A server MUST use the block size indicated or a smaller size"; ours is the smaller of
        // the configured preference and what fits one datagram of the endpoint with the options we add.
        int limit = Math.Min(_preferredBlockSize, BlockWiseHelpers.FitBlockSize(response, endpoint.MaxMessageSize, opaqueOptions: 1));
        int size = requested is { } r ? Math.Min(r.Size, limit) : limit;
        if (length <= size && (requested is null || !response.Code.IsSuccess))
        {
            return (response, false);
        }

        // The offset counts in the requester's block size: late negotiation may ask for NUM=n at a size
        // smaller than before (§2.4, Figure 4), and a requester asking for a larger block than we serve
        // gets our smaller one, renumbered; both sizes are powers of two, so the offset is aligned.
        int offset = requested?.Offset ?? 0;
        if (offset > 0 && offset >= length)
        {
            // RFC 7959 gives no code for a block beyond the end of the body; 4.02 Bad Option is what
            // libcoap and Californium answer, as the Block2 option's value is what is wrong.
            return (Error(CoapCode.BadOption, $"Block2 starts at byte {offset} of a {length}-byte body"), false);
        }

        int number = offset / size;
        int count = Math.Min(size, length - offset);
        bool more = offset + count < length;
        var full = response;
        if (length > size && response.ETag is null)
        {
            // §2.4: the server SHOULD include an ETag in each response, so the client can tell that its
            // blocks come from one representation; RFC 9175 §3.8 makes that a MUST for body integrity.
            full = response.SetOption(new CoapOption(CoapOptionNumber.ETag, BlockWiseHelpers.ComputeETag(response)));
        }

        var block = full.WithPayload(full.Payload.Slice(offset, count)).WithBlock2(new BlockOption(number, more, BlockOption.SizeToExponent(size)));
        if (number == 0 || sizeRequested)
        {
            // §4: a size indication, preferably with the first block; in every block when the request asked (Size2: 0).
            block = block.SetUInt(CoapOptionNumber.Size2, (uint)length);
        }

        return (block, length > size);
    }

    // ---- Block1 ----------------------------------------------------------------------------------

    private async ValueTask<CoapMessage> HandleBlock1Async(
        CoapRequestContext context, BlockTransferKey key, BlockOption block1, long now, long lifetime, TimeProvider time, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var payload = request.Payload;

        // §2.3: with M set, "the block size implied by SZX MUST match the size of the payload in bytes".
        if (block1.More && payload.Length != block1.Size)
        {
            return Error(CoapCode.BadRequest, $"Block1 {block1} carries {payload.Length} bytes");
        }

        // The first block of an operation (§2.5: a new NUM=0 "simply overwrites the context") is the last moment to refuse a
        // request that cannot succeed before its body is held; later blocks belong to an operation that passed.
        if (block1.Number == 0 && await AuthorizeAsync(context, cancellationToken) is { } refusal)
        {
            lock (_lock)
            {
                RemoveReassemblyLocked(key);
            }

            return refusal;
        }

        // §2.9.3, RFC 7252 §5.10.9: too large a body gets 4.13 with Size1 = the largest acceptable.
        long end = (long)block1.Offset + payload.Length;
        if (request.Size1 > (uint)_options.MaxRequestBodySize || end > _options.MaxRequestBodySize)
        {
            lock (_lock)
            {
                RemoveReassemblyLocked(key);
            }

            return Error(CoapCode.RequestEntityTooLarge, null).SetUInt(CoapOptionNumber.Size1, (uint)_options.MaxRequestBodySize);
        }

        // §2.3: Block1 in the response carries the server's preferred size, the same as or smaller than the client's.
        int echoSzx = Math.Min(block1.SizeExponent, BlockOption.SizeToExponent(_preferredBlockSize));
        Block1Step step;
        lock (_lock)
        {
            step = AcceptBlock1Locked(key, context, block1, echoSzx, now, lifetime, time);
        }

        if (step.Reply is not null)
        {
            if (step.Bound != ReassemblyBound.None)
            {
                ReportBoundHit(context, step.Bound, step.Source, now, time);
            }

            return step.Reply;
        }

        var entry = step.Entry!;
        if (step.Completion is { } completion)
        {
            try
            {
                var response = await InvokeInnerAsync(context, step.InnerOptions, step.Body, cancellationToken);
                completion.SetResult(response);
                ChargeResponse(entry, response);
            }
            catch (Exception ex)
            {
                completion.SetException(ex);
                lock (_lock)
                {
                    RemoveResponseLocked(key, entry);
                }

                throw;
            }
        }

        var full = await entry.Response.WaitAsync(cancellationToken);

        // §2.7, §3.3: the response to the final block carries Block1 (M=0) and the first Block2 block.
        var served = Serve(context.Endpoint, full, request.Block2, request.Size2 is not null);
        return served.Message.WithBlock1(new BlockOption(block1.Number, false, echoSzx));
    }

    /// <summary>
    /// Takes one Block1 block into the reassembly state. Returns a reply (2.31 or an error), or, for the
    /// final block, the cache entry of the operation's response, with the completion to fulfil when the
    /// inner handler must still run (it need not for a final block sent again, which is answered from the entry).
    /// </summary>
    private Block1Step AcceptBlock1Locked(BlockTransferKey key, CoapRequestContext context, BlockOption block1, int echoSzx, long now, long lifetime, TimeProvider time)
    {
        var request = context.Request;
        var payload = request.Payload;
        long end = (long)block1.Offset + payload.Length;
        var reassembly = TryGetReassemblyLocked(key, now, lifetime);
        if (block1.Number == 0)
        {
            // §2.5: a new NUM=0 "simply overwrites the context the server may still be keeping". Even the same first block
            // again starts afresh: its options may have changed (a client correcting its Content-Format restarts at
            // NUM=0), and a copy of the same message is answered by the message layer before it gets here.
            RemoveReassemblyLocked(key);
            if (!block1.More)
            {
                // The whole body in one block: nothing to reassemble.
                return Block1Step.Running(StartResponseLocked(key, block1, payload, now), request.Options, payload);
            }

            ReleaseExpiredReassembliesLocked(now, lifetime);
            reassembly = new Block1Reassembly(key, BlockSource.Of(context.RemoteEndPoint), BlockWiseHelpers.WithoutBlockOptions(request.Options), request.ContentFormat, now);
            var bound = _budget.TryAdmit(reassembly, request.Size1 ?? (uint)payload.Length);
            if (bound != ReassemblyBound.None)
            {
                return Block1Step.Refusing(Refusal(bound, reassembly, now, lifetime, time), bound, reassembly.Source);
            }

            _reassemblies[key] = reassembly;
        }
        else
        {
            if (reassembly is null)
            {
                // The final block again after the operation completed: answer from the cached response.
                if (!block1.More && TryGetResponseLocked(key, now, lifetime) is { FinalBlock1: { } final } done
                    && final.Offset == block1.Offset && done.FinalBlock1Payload.AsSpan().SequenceEqual(payload.Span))
                {
                    return Block1Step.Replaying(done);
                }

                // §2.5: "If not all previous blocks are available ... 4.08 (Request Entity Incomplete) MUST be returned."
                return Block1Step.Replying(Error(CoapCode.RequestEntityIncomplete, $"No transfer in progress for Block1 {block1}"));
            }

            // §2.3: blocks with mismatching Content-Format "MUST NOT" be assembled into one request.
            if (request.ContentFormat != reassembly.ContentFormat)
            {
                return Block1Step.Replying(Error(CoapCode.RequestEntityIncomplete, "Content-Format differs from the first block"));
            }

            if (block1.Offset < reassembly.Received)
            {
                // A block already received, sent again in a new message: idempotent when it is the same.
                if (block1.More && end <= reassembly.Received
                    && reassembly.Body.WrittenSpan.Slice(block1.Offset, payload.Length).SequenceEqual(payload.Span))
                {
                    _budget.Touch(reassembly, now);
                    return Block1Step.Replying(Continue(block1, echoSzx));
                }

                return Block1Step.Replying(Error(CoapCode.RequestEntityIncomplete, $"Block1 {block1} overlaps the {reassembly.Received} bytes received"));
            }

            if (block1.Offset > reassembly.Received)
            {
                // §2.5: a server "MAY also return a 4.08 error code for any ... Block1 transfer that is not in sequence".
                return Block1Step.Replying(Error(CoapCode.RequestEntityIncomplete, $"Block1 {block1} follows {reassembly.Received} bytes received"));
            }
        }

        var charged = _budget.TryCharge(reassembly, payload.Length);
        if (charged != ReassemblyBound.None)
        {
            var refusal = Refusal(charged, reassembly, now, lifetime, time);

            // A body that cannot fit its peer's share is dropped (4.13); one that waits for room elsewhere keeps what it has,
            // unless that is nothing.
            if (charged == ReassemblyBound.PeerBytes || block1.Number == 0)
            {
                RemoveReassemblyLocked(key);
            }

            return Block1Step.Refusing(refusal, charged, reassembly.Source);
        }

        reassembly.Body.Write(payload.Span);
        _budget.Touch(reassembly, now);
        if (block1.More)
        {
            return Block1Step.Replying(Continue(block1, echoSzx));
        }

        // The final block: the body is complete and goes to the inner handler with block 0's options.
        RemoveReassemblyLocked(key);
        return Block1Step.Running(StartResponseLocked(key, block1, payload, now), reassembly.FirstOptions, reassembly.Body.WrittenMemory);
    }

    private CachedBlockResponse StartResponseLocked(BlockTransferKey key, BlockOption finalBlock1, ReadOnlyMemory<byte> finalPayload, long now)
    {
        var completion = new TaskCompletionSource<CoapMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var entry = new CachedBlockResponse(key, completion.Task, now)
        {
            FinalBlock1 = finalBlock1,
            FinalBlock1Payload = finalPayload.ToArray(),
            Completion = completion,
        };
        AddResponseLocked(entry);
        return entry;
    }

    private static CoapMessage Continue(BlockOption block1, int echoSzx)
        // §2.9.1: 2.31 Continue, no payload; §2.3: Block1 echoes NUM with M set and the preferred SZX (Figure 9).
        => new CoapMessage { Code = CoapCode.Continue }.WithBlock1(new BlockOption(block1.Number, true, echoSzx));

    /// <summary>
    /// The answer to a block a reassembly bound refuses. A body larger than its peer's share can never be held: §2.9.3's
    /// 4.13 "at any time by a server that does not currently have the resources to store blocks". Any other bound frees
    /// room as transfers end: RFC 9175 §3.3 lets a server "delay the start of the operation by replying with 5.03 (Service
    /// Unavailable) and a Max-Age indicating how long it expects the existing operation to go on", here at most until the
    /// least recently active transfer under that bound expires.
    /// </summary>
    private CoapMessage Refusal(ReassemblyBound bound, Block1Reassembly transfer, long now, long lifetime, TimeProvider time)
    {
        if (bound == ReassemblyBound.PeerBytes)
        {
            return Error(CoapCode.RequestEntityTooLarge, "Too many request bytes held for this peer");
        }

        string diagnostic = bound switch
        {
            ReassemblyBound.PeerTransfers => "Too many block-wise transfers from this peer",
            ReassemblyBound.UnauthenticatedAddressTransfers => "Too many block-wise transfers from this address",
            ReassemblyBound.AddressBytes or ReassemblyBound.UnauthenticatedAddressBytes => "Too many request bytes held for this address",
            ReassemblyBound.UnauthenticatedTotal => "Server busy with transfers of unauthenticated peers",
            _ => "Server busy with other transfers",
        };
        var oldest = _budget.LeastRecentlyActiveUnder(bound, transfer);
        long remaining = oldest is null ? 0 : oldest.LastAccess + lifetime - now;
        uint seconds = (uint)Math.Clamp(Math.Ceiling((double)remaining / time.TimestampFrequency), 1, uint.MaxValue);
        return Error(CoapCode.ServiceUnavailable, diagnostic).SetUInt(CoapOptionNumber.MaxAge, seconds);
    }

    /// <summary>Counts a bound hit and logs it, at most once per <see cref="BoundReportInterval"/>, naming the peer.</summary>
    private void ReportBoundHit(CoapRequestContext context, ReassemblyBound bound, BlockSource source, long now, TimeProvider time)
    {
        string scope = bound switch
        {
            ReassemblyBound.PeerTransfers or ReassemblyBound.PeerBytes => "peer",
            ReassemblyBound.UnauthenticatedTotal => "unauthenticated",
            ReassemblyBound.Total => "global",
            _ => "address",
        };
        CoapMetrics.BlockWiseBoundHit.Add(1, new KeyValuePair<string, object?>("bound", scope), new KeyValuePair<string, object?>("authenticated", source.Authenticated));
        if (!_boundReports.TryReport(now, time, out long unreported))
        {
            return;
        }

        string setting = bound switch
        {
            ReassemblyBound.PeerTransfers => nameof(CoapServerOptions.MaxTransfersPerPeer),
            ReassemblyBound.PeerBytes => nameof(CoapServerOptions.MaxReassemblyBytesPerPeer),
            ReassemblyBound.AddressBytes => nameof(CoapServerOptions.MaxReassemblyBytesPerAddress),
            ReassemblyBound.UnauthenticatedAddressTransfers => nameof(CoapServerOptions.MaxUnauthenticatedTransfersPerAddress),
            ReassemblyBound.UnauthenticatedAddressBytes => nameof(CoapServerOptions.MaxUnauthenticatedReassemblyBytesPerAddress),
            ReassemblyBound.UnauthenticatedTotal => nameof(CoapServerOptions.MaxUnauthenticatedReassemblyBytesTotal),
            _ => nameof(CoapServerOptions.MaxReassemblyBytesTotal),
        };
        long limit;
        long held;
        lock (_lock)
        {
            limit = _budget.LimitOf(bound, source.Authenticated);
            held = bound == ReassemblyBound.UnauthenticatedTotal ? _budget.UnauthenticatedBytes : _budget.Bytes;
        }

        string peer = source.Authenticated ? "authenticated" : "unauthenticated";
        if (scope is "peer" or "address")
        {
            LogPeerBoundHit(context.RemoteEndPoint, peer, source, "Coap:" + setting, limit, unreported);
        }
        else
        {
            LogSharedBoundHit(context.RemoteEndPoint, peer, source, held, "Coap:" + setting, limit, unreported);
        }
    }

    // ---- inner handler ---------------------------------------------------------------------------

    private ValueTask<CoapMessage> InvokeInnerAsync(CoapRequestContext context, CoapOptionCollection options, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var innerOptions = BlockWiseHelpers.WithoutBlockOptions(options);
        if (ReferenceEquals(innerOptions, context.Request.Options) && body.Equals(context.Request.Payload))
        {
            // No block option to strip (so no Block2 size to pass on either) and the body as received: the inner
            // layers see this request and context as they are, which saves a copy of both on most requests.
            return _inner.HandleAsync(context, cancellationToken);
        }

        var inner = context.WithRequest(context.Request with { Options = innerOptions, Payload = body });
        if (context.Request.Block2 is { } block2)
        {
            inner.Items[RequestedBlockSizeKey] = block2.Size;
        }

        return _inner.HandleAsync(inner, cancellationToken);
    }

    /// <summary>The authorization phase: null admits the request, anything else is the answer that refuses it.</summary>
    private ValueTask<CoapMessage?> AuthorizeAsync(CoapRequestContext context, CancellationToken cancellationToken) =>
        _authorize is null ? ValueTask.FromResult<CoapMessage?>(null) : _authorize(context, cancellationToken);

    private static CoapMessage Error(CoapCode code, string? diagnostic)
    {
        var message = new CoapMessage { Code = code };
        return diagnostic is null ? message : message.WithPayload(diagnostic);
    }

    // ---- state -----------------------------------------------------------------------------------

    private BlockPeerUsage GetUsageLocked(BlockPeerKey peer)
    {
        if (!_peers.TryGetValue(peer, out var usage))
        {
            usage = new BlockPeerUsage();
            _peers[peer] = usage;
        }

        return usage;
    }

    private void ReleaseUsageLocked(BlockPeerKey peer, BlockPeerUsage usage)
    {
        if (usage.IsEmpty)
        {
            _peers.Remove(peer);
        }
    }

    private Block1Reassembly? TryGetReassemblyLocked(BlockTransferKey key, long now, long lifetime)
    {
        if (!_reassemblies.TryGetValue(key, out var reassembly))
        {
            return null;
        }

        if (now - reassembly.LastAccess > lifetime)
        {
            RemoveReassemblyLocked(key);
            return null;
        }

        return reassembly;
    }

    private void RemoveReassemblyLocked(BlockTransferKey key)
    {
        if (!_reassemblies.Remove(key, out var reassembly))
        {
            return;
        }

        _budget.Release(reassembly, reassembly.Received);
    }

    /// <summary>Forgets the transfers idle for longer than the lifetime, least recently active first, until a live one.</summary>
    private void ReleaseExpiredReassembliesLocked(long now, long lifetime)
    {
        while (_budget.LeastRecentlyActive is { } oldest && now - oldest.LastAccess > lifetime)
        {
            RemoveReassemblyLocked(oldest.Key);
        }
    }

    private CachedBlockResponse? TryGetResponseLocked(BlockTransferKey key, long now, long lifetime)
    {
        if (!_responses.TryGetValue(key, out var cached))
        {
            return null;
        }

        if (now - cached.LastAccess > lifetime)
        {
            RemoveResponseLocked(key, cached);
            return null;
        }

        cached.LastAccess = now;
        return cached;
    }

    private void StoreResponse(BlockTransferKey key, CoapMessage response, long now)
    {
        var entry = new CachedBlockResponse(key, Task.FromResult(response), now);
        lock (_lock)
        {
            AddResponseLocked(entry);
        }

        ChargeResponse(entry, response);
    }

    private void AddResponseLocked(CachedBlockResponse entry)
    {
        RemoveResponseLocked(entry.Key);
        var peer = BlockPeerKey.From(entry.Key);
        var usage = GetUsageLocked(peer);
        while (usage.Cached.Count >= _options.MaxTransfersPerPeer)
        {
            // The peer's oldest cached body makes room; a client that still wanted it can repeat the request.
            RemoveResponseLocked(usage.Cached[0].Key, usage.Cached[0]);
        }

        _responses[entry.Key] = entry;
        Volatile.Write(ref _cachedResponseCount, _responses.Count);
        usage.Cached.Add(entry);
    }

    /// <summary>Charges a completed response to the cache's byte bounds, evicting or dropping it when they are exceeded.</summary>
    private void ChargeResponse(CachedBlockResponse entry, CoapMessage response)
    {
        long bytes = response.Payload.Length;
        lock (_lock)
        {
            var peer = BlockPeerKey.From(entry.Key);
            if (!_responses.TryGetValue(entry.Key, out var current) || !ReferenceEquals(current, entry) || !_peers.TryGetValue(peer, out var usage))
            {
                return;
            }

            while (usage.CachedBytes + bytes > _options.MaxReassemblyBytesPerPeer && usage.Cached.Count > 1 && !ReferenceEquals(usage.Cached[0], entry))
            {
                RemoveResponseLocked(usage.Cached[0].Key, usage.Cached[0]);
            }

            if (usage.CachedBytes + bytes > _options.MaxReassemblyBytesPerPeer || _cachedBytes + bytes > _options.MaxReassemblyBytesTotal)
            {
                RemoveResponseLocked(entry.Key, entry);
                return;
            }

            entry.Bytes = bytes;
            usage.CachedBytes += bytes;
            _cachedBytes += bytes;
        }
    }

    private void RemoveResponseLocked(BlockTransferKey key, CachedBlockResponse? expected = null)
    {
        if (!_responses.TryGetValue(key, out var entry) || (expected is not null && !ReferenceEquals(entry, expected)))
        {
            return;
        }

        _responses.Remove(key);
        Volatile.Write(ref _cachedResponseCount, _responses.Count);
        var peer = BlockPeerKey.From(key);
        var usage = GetUsageLocked(peer);
        usage.Cached.Remove(entry);
        usage.CachedBytes -= entry.Bytes;
        _cachedBytes -= entry.Bytes;
        ReleaseUsageLocked(peer, usage);
    }

    /// <summary>Forgets transfers idle for longer than the lifetime; runs at most every eighth of it.</summary>
    private void SweepLocked(long now, long lifetime)
    {
        if (now < _nextSweep)
        {
            return;
        }

        Volatile.Write(ref _nextSweep, now + Math.Max(lifetime / 8, 1));
        SweepExpiredLocked(now, lifetime);
    }

    // Apart from SweepLocked, whose early return would otherwise pay for the lambdas' closure on every request.
    private void SweepExpiredLocked(long now, long lifetime)
    {
        ReleaseExpiredReassembliesLocked(now, lifetime);
        foreach (var cached in _responses.Values.Where(c => now - c.LastAccess > lifetime && c.Response.IsCompleted).ToList())
        {
            RemoveResponseLocked(cached.Key, cached);
        }

        // A flood of transfers from many peers grows these tables to its peak; once it has expired, give the memory back.
        SparseTables.TrimIfSparse(_reassemblies, TrimMinimumCapacity);
        SparseTables.TrimIfSparse(_responses, TrimMinimumCapacity);
        SparseTables.TrimIfSparse(_peers, TrimMinimumCapacity);
        _budget.TrimTables(TrimMinimumCapacity);
    }

    // Warnings both: a refused upload is a refused request (serve logs CoapEnroll.Coap from Warning up), and at most one
    // line per BoundReportInterval is written whatever the rate of hits.
    [LoggerMessage(1, LogLevel.Warning, "{Remote} ({Class}, source {Source}) was refused a Block1 block: its reassembly bound {Setting} = {Limit} "
        + "is reached ({Unreported} more bound hits since the last report)")]
    private partial void LogPeerBoundHit(EndPoint remote, string @class, BlockSource source, string setting, long limit, long unreported);

    [LoggerMessage(2, LogLevel.Warning, "Block1 reassembly holds {Held} bytes, as many as {Setting} = {Limit} allows: refused a block from {Remote} "
        + "({Class}, source {Source}) ({Unreported} more bound hits since the last report)")]
    private partial void LogSharedBoundHit(EndPoint remote, string @class, BlockSource source, long held, string setting, long limit, long unreported);
}
