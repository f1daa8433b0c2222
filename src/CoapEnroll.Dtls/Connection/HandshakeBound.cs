namespace CoapEnroll.Dtls;

/// <summary>Which bound refused a cookie-verified ClientHello (the <c>bound</c> tag of <c>dtls.handshakes.refused</c>).</summary>
internal enum HandshakeBound
{
    /// <summary>None: the handshake may start.</summary>
    None,

    /// <summary><see cref="DtlsServerOptions.MaxHandshakesPerAddress"/>: handshakes from one source address.</summary>
    Address,

    /// <summary><see cref="DtlsServerOptions.MaxHandshakes"/>: handshakes from all peers together.</summary>
    Global,

    /// <summary><see cref="DtlsServerOptions.MaxConnections"/>: the connection table, handshaking and established.</summary>
    Connections,

    /// <summary><see cref="DtlsServerOptions.MaxConnectionsPerAddress"/>: connections of one source address, handshaking and established.</summary>
    AddressConnections,
}
