using System.Diagnostics.Metrics;

namespace CoapEnroll.Bench;

/// <summary>
/// Counts the CoAP retransmissions of the project's client stack (<c>CoapClient</c>, and <c>EstCoapsClient</c> on it) in this
/// process, from the <c>coap.messages.retransmitted</c> counter of the <c>CoapEnroll.Coap</c> meter. The server runs in another
/// process, so every retransmission counted here is the bench's own.
/// </summary>
internal sealed class CoapRetransmissionCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _count;

    public CoapRetransmissionCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "CoapEnroll.Coap" && instrument.Name == "coap.messages.retransmitted")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
        _listener.Start();
    }

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
