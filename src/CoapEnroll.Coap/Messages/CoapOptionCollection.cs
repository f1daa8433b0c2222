using System.Collections;
using System.Collections.ObjectModel;

namespace CoapEnroll.Coap;

/// <summary>
/// An immutable list of options kept in the order the wire requires: ascending by number, and for a
/// repeated option in the order the instances were added (RFC 7252 §3.1, §5.4.5).
/// </summary>
public sealed class CoapOptionCollection : IReadOnlyList<CoapOption>
{
    private readonly CoapOption[] _options;

    // The Uri-Path segments as strings, built on first use. The collection is immutable, so the cache can
    // never go stale: a message with other options has another collection.
    private ReadOnlyCollection<string>? _uriPathSegments;

    public static readonly CoapOptionCollection Empty = new([]);

    private CoapOptionCollection(CoapOption[] sortedOptions) => _options = sortedOptions;

    /// <summary>Builds a collection from options in any order; instances of one number keep their relative order.</summary>
    public static CoapOptionCollection Create(IEnumerable<CoapOption> options)
    {
        CoapOption[] array = options.ToArray();
        if (array.Length == 0)
        {
            return Empty;
        }

        // OrderBy is a stable sort, which keeps repeated options (Uri-Path segments) in order.
        return new CoapOptionCollection(array.OrderBy(o => o.Number).ToArray());
    }

    /// <summary>Wraps options already sorted by number, as the decoder produces them.</summary>
    internal static CoapOptionCollection FromSorted(CoapOption[] sortedOptions)
        => sortedOptions.Length == 0 ? Empty : new CoapOptionCollection(sortedOptions);

    public int Count => _options.Length;

    public CoapOption this[int index] => _options[index];

    public ReadOnlySpan<CoapOption> AsSpan() => _options;

    public bool Contains(int number) => IndexOf(number) >= 0;

    /// <summary>The first instance of the option, if any.</summary>
    public bool TryGet(int number, out CoapOption option)
    {
        int i = IndexOf(number);
        option = i >= 0 ? _options[i] : default;
        return i >= 0;
    }

    /// <summary>Every instance of the option, in order.</summary>
    public IEnumerable<CoapOption> GetAll(int number)
    {
        for (int i = IndexOf(number); i >= 0 && i < _options.Length && _options[i].Number == number; i++)
        {
            yield return _options[i];
        }
    }

    /// <summary>Every instance of the option, in order, as a slice of the collection (no allocation).</summary>
    internal ReadOnlySpan<CoapOption> GetRun(int number)
    {
        int start = IndexOf(number);
        if (start < 0)
        {
            return [];
        }

        int end = start + 1;
        while (end < _options.Length && _options[end].Number == number)
        {
            end++;
        }

        return _options.AsSpan(start, end - start);
    }

    /// <summary>The values of every instance of the option decoded as UTF-8, in order, in a new array.</summary>
    internal string[] GetStrings(int number)
    {
        ReadOnlySpan<CoapOption> run = GetRun(number);
        if (run.IsEmpty)
        {
            return [];
        }

        var strings = new string[run.Length];
        for (int i = 0; i < run.Length; i++)
        {
            strings[i] = run[i].GetString();
        }

        return strings;
    }

    /// <summary>The Uri-Path segments, decoded once per collection and then shared (read-only).</summary>
    internal ReadOnlyCollection<string> UriPathSegments
    {
        get
        {
            var segments = Volatile.Read(ref _uriPathSegments);
            if (segments is null)
            {
                // Racing threads build equal lists; whichever is published first is kept.
                segments = new ReadOnlyCollection<string>(GetStrings(CoapOptionNumber.UriPath));
                segments = Interlocked.CompareExchange(ref _uriPathSegments, segments, null) ?? segments;
            }

            return segments;
        }
    }

    /// <summary>Adds an instance after any existing instances of the same number.</summary>
    public CoapOptionCollection Add(CoapOption option)
    {
        int insertAt = _options.Length;
        for (int i = 0; i < _options.Length; i++)
        {
            if (_options[i].Number > option.Number)
            {
                insertAt = i;
                break;
            }
        }

        var result = new CoapOption[_options.Length + 1];
        _options.AsSpan(0, insertAt).CopyTo(result);
        result[insertAt] = option;
        _options.AsSpan(insertAt).CopyTo(result.AsSpan(insertAt + 1));
        return new CoapOptionCollection(result);
    }

    /// <summary>Replaces every instance of the option's number with this one instance.</summary>
    public CoapOptionCollection Set(CoapOption option) => Remove(option.Number).Add(option);

    /// <summary>Removes every instance of the number.</summary>
    public CoapOptionCollection Remove(int number)
    {
        int start = IndexOf(number);
        if (start < 0)
        {
            return this;
        }

        // The instances of one number are adjacent: copy what is before and after them.
        int end = start + 1;
        while (end < _options.Length && _options[end].Number == number)
        {
            end++;
        }

        if (start == 0 && end == _options.Length)
        {
            return Empty;
        }

        var result = new CoapOption[_options.Length - (end - start)];
        _options.AsSpan(0, start).CopyTo(result);
        _options.AsSpan(end).CopyTo(result.AsSpan(start));
        return new CoapOptionCollection(result);
    }

    public IEnumerator<CoapOption> GetEnumerator() => ((IEnumerable<CoapOption>)_options).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _options.GetEnumerator();

    private int IndexOf(int number)
    {
        // Messages carry a handful of options; a linear scan beats a binary search at this size.
        for (int i = 0; i < _options.Length; i++)
        {
            int n = _options[i].Number;
            if (n == number)
            {
                return i;
            }

            if (n > number)
            {
                break;
            }
        }

        return -1;
    }
}
