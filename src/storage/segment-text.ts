/**
 * Word segmentation for `analyze` fields and search queries.
 *
 * The original tokenised Chinese with jieba and joined the words with spaces; here `Intl.Segmenter`
 * (ICU, built into Node) finds word boundaries in Chinese, Japanese and Thai without a dictionary
 * download, and splits other scripts at spaces and punctuation. Stored text and queries go through
 * the same function, and the full-text index splits at whitespace only, so a query word matches
 * exactly the stored words it segments to.
 */

const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });

/** The words of `text`, lower-cased, punctuation and spaces dropped. */
export function segmentWords(text: string): string[] {
  const words: string[] = [];
  for (const segment of segmenter.segment(text)) {
    if (segment.isWordLike) words.push(segment.segment.toLowerCase());
  }
  return words;
}

/** `text` as space-separated words: what is stored in an `analyze` field and sent to the index. */
export function segmentText(text: string): string {
  return segmentWords(text).join(' ');
}
