using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>The steps the observe test descriptions share, over a <see cref="BolRawClient"/>.</summary>
public static class BolObserve
{
    /// <summary>How long "no further notification" is watched: a live observation would have had two or three notifications.</summary>
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(2.5);

    public static readonly TimeSpan NotificationWait = TimeSpan.FromSeconds(15);

    public static async Task<(ReadOnlyMemory<byte> Token, CoapMessage Response)> RegisterAsync(BolRawClient raw, string path, CoapMessageType type = CoapMessageType.Confirmable)
    {
        byte[] token = BolRawClient.NewToken();
        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, path, type).SetUInt(CoapOptionNumber.Observe, 0) with { Token = token });
        Assert.True(response.Code == CoapCode.Content && response.Observe is not null, $"Registration on {path}: {response}");
        return (token, response);
    }

    public static async Task DeregisterAsync(BolRawClient raw, string path, ReadOnlyMemory<byte> token)
    {
        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, path).SetUInt(CoapOptionNumber.Observe, 1) with { Token = token });
        Assert.True(response.Observe is null, $"Deregistration: {response}");
    }

    public static Task<CoapMessage> NextNotificationAsync(BolRawClient raw, ReadOnlyMemory<byte> token)
        => raw.ReceiveAsync(m => m.IsResponse && m.Observe is not null && m.Token.Span.SequenceEqual(token.Span), NotificationWait, "notification");

    public static async Task<CoapMessage[]> NotificationsAsync(BolRawClient raw, ReadOnlyMemory<byte> token, int count)
    {
        var notifications = new CoapMessage[count];
        for (int i = 0; i < count; i++)
        {
            notifications[i] = await NextNotificationAsync(raw, token);
        }

        return notifications;
    }

    /// <summary>
    /// Nothing with <paramref name="token"/> arrives for <paramref name="window"/> (default <see cref="Silence"/>), once anything
    /// already on its way has landed: messages that arrive in the first half second are dropped.
    /// </summary>
    public static async Task AssertNoNotificationAsync(BolRawClient raw, ReadOnlyMemory<byte> token, string when, TimeSpan? window = null)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        raw.Clear();
        var late = await raw.TryReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span), window ?? Silence);
        Assert.True(late is null, $"No notification {when}, got {late}");
    }

    /// <summary>Gives the next test an /obs as the server starts with: PUT re-creates a deleted /obs, and the clock resumes two changes later.</summary>
    public static async Task RestoreObsAsync(BolRawClient raw)
    {
        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Put, "/obs").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("restored"));
        Assert.True(response.Code == CoapCode.Created || response.Code == CoapCode.Changed, $"Restoring /obs: {response}");
    }

    /// <summary>RFC 7641 §4.4: each value is newer than the one before, in 24-bit serial arithmetic.</summary>
    public static void AssertIncreasing(IReadOnlyList<uint> values, string context)
    {
        for (int i = 1; i < values.Count; i++)
        {
            uint difference = (values[i] - values[i - 1]) & 0xFFFFFF;
            Assert.True(difference is > 0 and < 0x800000, $"Observe {values[i]} after {values[i - 1]} is not newer.{Environment.NewLine}{context}");
        }
    }
}
