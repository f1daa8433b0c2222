namespace CoapEnroll.Coap;

/// <summary>
/// What Block1 reassembly may hold (RFC 7959 §2.5): transfers and body bytes per peer, per source address and in total,
/// with a smaller share for unauthenticated peers (<see cref="CoapServerOptions"/> has the bounds). Refusing is what a
/// bound does here, unlike duplicate detection: a body cannot be half forgotten. The bounds are arranged so that a refusal
/// falls on whoever holds the bytes: a peer is refused for its own transfers, an address for its own ports and sessions,
/// and strangers for their shared part, which never reaches into the part the authenticated peers have.
/// </summary>
/// <remarks>
/// Not thread-safe: the block-wise layer's lock guards it. Transfers are kept in two lists by last activity, one per
/// class, so that the least recently active transfer (the next to expire, and the one a 5.03's Max-Age waits for) is at
/// a list's head; holding a block costs no allocation.
/// </remarks>
internal sealed class ReassemblyBudget
{
    private readonly Dictionary<BlockPeerKey, Holding> _peers = [];
    private readonly Dictionary<object, AddressHolding> _addresses = [];
    private readonly ActivityList _authenticated = new();
    private readonly ActivityList _unauthenticated = new();

    private readonly int _transfersPerPeer;
    private readonly long _authenticatedBytesPerPeer;
    private readonly long _unauthenticatedBytesPerPeer;
    private readonly long _bytesPerAddress;
    private readonly int _unauthenticatedTransfersPerAddress;
    private readonly long _unauthenticatedBytesPerAddress;
    private readonly long _unauthenticatedBytes;
    private readonly long _totalBytes;

    public ReassemblyBudget(CoapServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _transfersPerPeer = options.MaxTransfersPerPeer;
        _totalBytes = options.MaxReassemblyBytesTotal;
        _bytesPerAddress = Math.Min(options.MaxReassemblyBytesPerAddress, _totalBytes);
        _unauthenticatedTransfersPerAddress = options.MaxUnauthenticatedTransfersPerAddress;
        _unauthenticatedBytes = Math.Min(options.MaxUnauthenticatedReassemblyBytesTotal, _totalBytes);
        _unauthenticatedBytesPerAddress = Math.Min(Math.Min(options.MaxUnauthenticatedReassemblyBytesPerAddress, _bytesPerAddress), _unauthenticatedBytes);

        // One peer's bytes are bounded by every bound above it too: a body larger than any of them can never be held, and
        // is told so with 4.13 up front instead of 5.03 for a later retry.
        _authenticatedBytesPerPeer = Math.Min(options.MaxReassemblyBytesPerPeer, _bytesPerAddress);
        _unauthenticatedBytesPerPeer = Math.Min(options.MaxReassemblyBytesPerPeer, _unauthenticatedBytesPerAddress);
    }

    /// <summary>Body bytes held for all peers.</summary>
    public long Bytes { get; private set; }

    /// <summary>Body bytes held for unauthenticated peers.</summary>
    public long UnauthenticatedBytes { get; private set; }

    /// <summary>The least recently active transfer of both classes, or null when none is held.</summary>
    public Block1Reassembly? LeastRecentlyActive => Older(_authenticated.Oldest, _unauthenticated.Oldest);

    /// <summary>The most bytes one peer of the given class may hold.</summary>
    public long BytesPerPeer(bool authenticated) => authenticated ? _authenticatedBytesPerPeer : _unauthenticatedBytesPerPeer;

    /// <summary>The most bytes a bound allows, for reports.</summary>
    public long LimitOf(ReassemblyBound bound, bool authenticated) => bound switch
    {
        ReassemblyBound.PeerTransfers => _transfersPerPeer,
        ReassemblyBound.PeerBytes => BytesPerPeer(authenticated),
        ReassemblyBound.AddressBytes => _bytesPerAddress,
        ReassemblyBound.UnauthenticatedAddressTransfers => _unauthenticatedTransfersPerAddress,
        ReassemblyBound.UnauthenticatedAddressBytes => _unauthenticatedBytesPerAddress,
        ReassemblyBound.UnauthenticatedTotal => _unauthenticatedBytes,
        ReassemblyBound.Total => _totalBytes,
        _ => 0,
    };

    /// <summary>
    /// Takes on a new transfer that announces <paramref name="announced"/> bytes (Size1, or its first block's): counts it,
    /// or returns the bound that refuses it. Only the peer's bound is held against the whole announced body; the others
    /// against its first block, as the body may never come.
    /// </summary>
    public ReassemblyBound TryAdmit(Block1Reassembly transfer, long announced)
    {
        bool authenticated = transfer.Source.Authenticated;
        _peers.TryGetValue(transfer.Peer, out Holding? peer);
        _addresses.TryGetValue(transfer.Source.Address, out AddressHolding? address);
        if (peer is not null && peer.Transfers.Count >= _transfersPerPeer)
        {
            return ReassemblyBound.PeerTransfers;
        }

        if (!authenticated && address is not null && address.UnauthenticatedTransfers >= _unauthenticatedTransfersPerAddress)
        {
            return ReassemblyBound.UnauthenticatedAddressTransfers;
        }

        if ((peer?.Bytes ?? 0) + announced > BytesPerPeer(authenticated))
        {
            return ReassemblyBound.PeerBytes;
        }

        var refusal = CheckShared(address, authenticated, Math.Min(announced, BlockWiseHelpers.MaxBlockSize));
        if (refusal != ReassemblyBound.None)
        {
            return refusal;
        }

        if (peer is null)
        {
            _peers[transfer.Peer] = peer = new Holding();
        }

        if (address is null)
        {
            _addresses[transfer.Source.Address] = address = new AddressHolding();
        }

        peer.Transfers.Add(transfer);
        address.Transfers.Add(transfer);
        if (!authenticated)
        {
            address.UnauthenticatedTransfers++;
        }

        ListOf(transfer).AddNewest(transfer);
        return ReassemblyBound.None;
    }

    /// <summary>Charges <paramref name="bytes"/> more of an admitted transfer's body, or returns the bound that refuses them.</summary>
    public ReassemblyBound TryCharge(Block1Reassembly transfer, int bytes)
    {
        bool authenticated = transfer.Source.Authenticated;
        Holding peer = _peers[transfer.Peer];
        AddressHolding address = _addresses[transfer.Source.Address];
        if (peer.Bytes + bytes > BytesPerPeer(authenticated))
        {
            return ReassemblyBound.PeerBytes;
        }

        var refusal = CheckShared(address, authenticated, bytes);
        if (refusal != ReassemblyBound.None)
        {
            return refusal;
        }

        peer.Bytes += bytes;
        address.Bytes += bytes;
        Bytes += bytes;
        if (!authenticated)
        {
            address.UnauthenticatedBytes += bytes;
            UnauthenticatedBytes += bytes;
        }

        return ReassemblyBound.None;
    }

    /// <summary>Records activity on a transfer: it moves to the end of its class's list.</summary>
    public void Touch(Block1Reassembly transfer, long now)
    {
        transfer.LastAccess = now;
        ListOf(transfer).MoveToNewest(transfer);
    }

    /// <summary>Forgets an admitted transfer and the <paramref name="bytes"/> charged for it.</summary>
    public void Release(Block1Reassembly transfer, long bytes)
    {
        bool authenticated = transfer.Source.Authenticated;
        ListOf(transfer).Remove(transfer);
        if (_peers.TryGetValue(transfer.Peer, out Holding? peer))
        {
            peer.Transfers.Remove(transfer);
            peer.Bytes -= bytes;
            if (peer.Transfers.Count == 0)
            {
                _peers.Remove(transfer.Peer);
            }
        }

        if (_addresses.TryGetValue(transfer.Source.Address, out AddressHolding? address))
        {
            address.Transfers.Remove(transfer);
            address.Bytes -= bytes;
            if (!authenticated)
            {
                address.UnauthenticatedTransfers--;
                address.UnauthenticatedBytes -= bytes;
            }

            if (address.Transfers.Count == 0)
            {
                _addresses.Remove(transfer.Source.Address);
            }
        }

        Bytes -= bytes;
        if (!authenticated)
        {
            UnauthenticatedBytes -= bytes;
        }
    }

    /// <summary>
    /// The least recently active transfer among those <paramref name="bound"/> counts for <paramref name="transfer"/>: the one
    /// whose expiry frees room soonest, for the Max-Age of a 5.03 (RFC 9175 §3.3).
    /// </summary>
    public Block1Reassembly? LeastRecentlyActiveUnder(ReassemblyBound bound, Block1Reassembly transfer)
    {
        switch (bound)
        {
            case ReassemblyBound.PeerTransfers or ReassemblyBound.PeerBytes:
                return _peers.TryGetValue(transfer.Peer, out Holding? peer) ? Oldest(peer.Transfers, null) : null;
            case ReassemblyBound.AddressBytes:
                return _addresses.TryGetValue(transfer.Source.Address, out AddressHolding? address) ? Oldest(address.Transfers, null) : null;
            case ReassemblyBound.UnauthenticatedAddressTransfers or ReassemblyBound.UnauthenticatedAddressBytes:
                return _addresses.TryGetValue(transfer.Source.Address, out AddressHolding? strangers) ? Oldest(strangers.Transfers, false) : null;
            case ReassemblyBound.UnauthenticatedTotal:
                return _unauthenticated.Oldest;
            default:
                return LeastRecentlyActive;
        }
    }

    /// <summary>Source addresses and peers with something held (for tests: both drop to zero once everything is released).</summary>
    public (int Peers, int Addresses) Holders => (_peers.Count, _addresses.Count);

    /// <summary>The capacities of the per-peer and per-address tables (for tests).</summary>
    public (int Peers, int Addresses) TableCapacities => (_peers.EnsureCapacity(0), _addresses.EnsureCapacity(0));

    /// <summary>Gives back the per-peer and per-address tables' memory after a peak (<see cref="SparseTables"/>).</summary>
    public void TrimTables(int minimumCapacity)
    {
        SparseTables.TrimIfSparse(_peers, minimumCapacity);
        SparseTables.TrimIfSparse(_addresses, minimumCapacity);
    }

    private ReassemblyBound CheckShared(AddressHolding? address, bool authenticated, long bytes)
    {
        if ((address?.Bytes ?? 0) + bytes > _bytesPerAddress)
        {
            return ReassemblyBound.AddressBytes;
        }

        if (!authenticated)
        {
            if ((address?.UnauthenticatedBytes ?? 0) + bytes > _unauthenticatedBytesPerAddress)
            {
                return ReassemblyBound.UnauthenticatedAddressBytes;
            }

            if (UnauthenticatedBytes + bytes > _unauthenticatedBytes)
            {
                return ReassemblyBound.UnauthenticatedTotal;
            }
        }

        return Bytes + bytes > _totalBytes ? ReassemblyBound.Total : ReassemblyBound.None;
    }

    private ActivityList ListOf(Block1Reassembly transfer) => transfer.Source.Authenticated ? _authenticated : _unauthenticated;

    private static Block1Reassembly? Oldest(List<Block1Reassembly> transfers, bool? authenticated)
    {
        Block1Reassembly? oldest = null;
        foreach (Block1Reassembly transfer in transfers)
        {
            if ((authenticated is null || transfer.Source.Authenticated == authenticated) && (oldest is null || transfer.LastAccess < oldest.LastAccess))
            {
                oldest = transfer;
            }
        }

        return oldest;
    }

    private static Block1Reassembly? Older(Block1Reassembly? a, Block1Reassembly? b) =>
        a is null ? b : b is null ? a : a.LastAccess <= b.LastAccess ? a : b;

    /// <summary>What one peer holds.</summary>
    private sealed class Holding
    {
        public List<Block1Reassembly> Transfers { get; } = [];

        public long Bytes { get; set; }
    }

    /// <summary>What the peers at one source address hold, and of that what the unauthenticated ones hold.</summary>
    private sealed class AddressHolding
    {
        public List<Block1Reassembly> Transfers { get; } = [];

        public long Bytes { get; set; }

        public int UnauthenticatedTransfers { get; set; }

        public long UnauthenticatedBytes { get; set; }
    }

    /// <summary>
    /// Transfers in order of last activity, linked through the transfers themselves. Activity is stamped before the layer
    /// takes its lock, so two blocks at nearly the same time may land in the other order: the order is close to exact, which
    /// is all the sweep (that stops at the first live transfer and finds the rest next time) and a Max-Age estimate need.
    /// </summary>
    private sealed class ActivityList
    {
        public Block1Reassembly? Oldest { get; private set; }

        private Block1Reassembly? Newest { get; set; }

        public void AddNewest(Block1Reassembly transfer)
        {
            transfer.Older = Newest;
            transfer.Newer = null;
            if (Newest is not null)
            {
                Newest.Newer = transfer;
            }

            Newest = transfer;
            Oldest ??= transfer;
        }

        public void MoveToNewest(Block1Reassembly transfer)
        {
            if (!ReferenceEquals(Newest, transfer))
            {
                Remove(transfer);
                AddNewest(transfer);
            }
        }

        public void Remove(Block1Reassembly transfer)
        {
            if (transfer.Older is { } older)
            {
                older.Newer = transfer.Newer;
            }
            else if (ReferenceEquals(Oldest, transfer))
            {
                Oldest = transfer.Newer;
            }

            if (transfer.Newer is { } newer)
            {
                newer.Older = transfer.Older;
            }
            else if (ReferenceEquals(Newest, transfer))
            {
                Newest = transfer.Older;
            }

            transfer.Older = null;
            transfer.Newer = null;
        }
    }
}
