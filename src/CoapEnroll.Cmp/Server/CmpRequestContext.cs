namespace CoapEnroll.Cmp;

/// <summary>Where a PKIMessage came from: the transport's view of one request (RFC 9482 §2, RFC 9811 §3).</summary>
public sealed class CmpRequestContext
{
    /// <summary>The front end, recorded with every request in the store: <c>cmp-coap</c>, <c>cmp-coaps</c>, <c>cmp-http</c>.</summary>
    public required string FrontEnd { get; init; }

    /// <summary>The profile label of <c>/.well-known/cmp/p/&lt;label&gt;</c>; <see langword="null"/> for the default profile.</summary>
    public string? ProfileLabel { get; init; }

    /// <summary>The operation label of the path (<c>ir</c>, <c>initialization</c>, …); <see langword="null"/> when the path has none.</summary>
    public string? OperationLabel { get; init; }

    /// <summary>The peer's address, for logs.</summary>
    public string? Peer { get; init; }
}
