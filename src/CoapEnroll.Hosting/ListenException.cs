using System.Net.Sockets;

namespace CoapEnroll.Hosting;

/// <summary>A listener could not be opened: which one (address, port, the setting that names it) and the system's reason.</summary>
public sealed class ListenException : Exception
{
    /// <summary>A listener that could not be opened.</summary>
    public ListenException()
        : this("a listener could not be opened")
    {
    }

    /// <summary>A listener that could not be opened.</summary>
    public ListenException(string message)
        : base(message)
    {
        Listener = message;
    }

    /// <summary>Listener <paramref name="listener"/> (e.g. "UDP [::]:5683 (coap://, Coap:Port)") could not be bound.</summary>
    public ListenException(string listener, SocketException innerException)
        : base($"{listener}: {innerException?.Message}", innerException)
    {
        Listener = listener;
    }

    /// <summary>A listener that could not be opened, for its cause.</summary>
    public ListenException(string message, Exception innerException)
        : base(message, innerException)
    {
        Listener = message;
    }

    /// <summary>The address, port and setting of the listener.</summary>
    public string Listener { get; }
}
