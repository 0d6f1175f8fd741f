using System.Text;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character table used by byte-level BPE (Llama 3, Qwen): every byte maps to one
/// printable character, so a BPE vocabulary over characters can spell any byte string. Printable Latin-1 bytes
/// map to themselves; the other 68 bytes (controls, space, soft hyphen, ...) map to U+0100 and up, in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    static readonly char[] ByteToChar = BuildTable();
    static readonly Dictionary<char, byte> CharToByte = BuildReverse();

    static char[] BuildTable()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    static Dictionary<char, byte> BuildReverse()
    {
        var reverse = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) reverse[ByteToChar[b]] = (byte)b;
        return reverse;
    }

    /// <summary>The character standing for <paramref name="value"/>.</summary>
    public static char CharOf(byte value) => ByteToChar[value];

    /// <summary>Maps the UTF-8 bytes of <paramref name="text"/> to alphabet characters.</summary>
    public static string Encode(string text)
    {
        int ascii = 0;
        while (ascii < text.Length && text[ascii] < 0x80) ascii++;
        if (ascii == text.Length)
        {
            // One byte per character: map in place (the common case for code and English).
            return string.Create(text.Length, text, static (span, t) =>
            {
                for (int i = 0; i < span.Length; i++) span[i] = ByteToChar[t[i]];
            });
        }
        int count = Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = count <= 512 ? stackalloc byte[count] : new byte[count];
        Encoding.UTF8.GetBytes(text, bytes);
        Span<char> chars = count <= 512 ? stackalloc char[count] : new char[count];
        for (int i = 0; i < count; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// Appends the bytes a token stands for. As in HF's decoder, a token holding any character outside the
    /// alphabet (an added token such as a CJK word) contributes its own UTF-8 bytes instead.
    /// </summary>
    public static void AppendBytes(string token, List<byte> output)
    {
        foreach (char c in token)
        {
            if (!CharToByte.ContainsKey(c))
            {
                output.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }
        }
        foreach (char c in token) output.Add(CharToByte[c]);
    }
}
