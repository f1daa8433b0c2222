namespace CoapEnroll.Hosting;

/// <summary>The HTTP listeners of the host, as an <see cref="IHttpEndpointSource"/> names those it wants its routes on.</summary>
[Flags]
public enum HttpListenerKind
{
    /// <summary>None: the source maps nothing.</summary>
    None = 0,

    /// <summary>Plain http:// (<see cref="HttpServerService"/>, the <c>Http</c> section).</summary>
    Http = 1,

    /// <summary>https:// (<see cref="HttpsServerService"/>, the <c>Https</c> section): TLS with the server credential.</summary>
    Https = 2,

    /// <summary>Both listeners, e.g. CMP, whose messages protect themselves whatever carries them (RFC 9811 §3.6).</summary>
    Both = Http | Https,
}
