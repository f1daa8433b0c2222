namespace CoapEnroll.Coap;

/// <summary>Which bound of the Block1 reassembly budget refused a transfer or a block (see <see cref="CoapServerOptions"/>).</summary>
internal enum ReassemblyBound
{
    /// <summary>None: the transfer or block fit.</summary>
    None,

    /// <summary><see cref="CoapServerOptions.MaxTransfersPerPeer"/>.</summary>
    PeerTransfers,

    /// <summary><see cref="CoapServerOptions.MaxReassemblyBytesPerPeer"/>, or a smaller bound that makes one peer's share smaller still.</summary>
    PeerBytes,

    /// <summary><see cref="CoapServerOptions.MaxReassemblyBytesPerAddress"/>.</summary>
    AddressBytes,

    /// <summary><see cref="CoapServerOptions.MaxUnauthenticatedTransfersPerAddress"/>.</summary>
    UnauthenticatedAddressTransfers,

    /// <summary><see cref="CoapServerOptions.MaxUnauthenticatedReassemblyBytesPerAddress"/>.</summary>
    UnauthenticatedAddressBytes,

    /// <summary><see cref="CoapServerOptions.MaxUnauthenticatedReassemblyBytesTotal"/>.</summary>
    UnauthenticatedTotal,

    /// <summary><see cref="CoapServerOptions.MaxReassemblyBytesTotal"/>.</summary>
    Total,
}
