namespace CoapEnroll.Coap;

/// <summary>Which bound kept a registration from being added (the <c>bound</c> tag of <c>coap.observe.bound_hit</c>).</summary>
internal enum ObserveBound
{
    None,

    /// <summary><see cref="CoapServerOptions.MaxObserversPerPeer"/>.</summary>
    Peer,

    /// <summary><see cref="CoapServerOptions.MaxObserversPerAddress"/>.</summary>
    Address,

    /// <summary><see cref="CoapServerOptions.MaxObserversPerResource"/>.</summary>
    Resource,

    /// <summary><see cref="CoapServerOptions.MaxObservers"/>.</summary>
    Global,
}
