"""Tile the aerial tree images shipped in the ``deepforest`` wheel into a VOC-format set.

    pip install --no-deps deepforest==2.1.0      # data only; do not import it
    python tools/dataset_converters/tile_deepforest.py data/deepforest_trees [--tile 400]

The wheel holds four labelled images (VOC XML): 2299x2472 (574 trees), 1249x1035 (279),
and two 400x400 (61; 37 labelled Alive/Dead). Every label becomes ``Tree``. Images are
cut into ``tile`` x ``tile`` crops without overlap (edge crops are padded with black);
boxes are clipped to the crop, and a tree with less than half its box
inside is marked ``difficult`` (ignored by mmdet's training and VOC evaluation). The
1249x1035 image (another site) is the test split; the other three are trainval.
Writes ``OUT/VOC2007/{JPEGImages,Annotations,ImageSets/Main}``.
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

from PIL import Image

SOURCES = {  # XML stem -> split
    '2019_YELL_2_528000_4978000_image_crop2': 'trainval',
    'OSBS_029': 'trainval',
    'SOAP_061': 'trainval',
    '2019_YELL_2_541000_4977000_image_crop': 'test',
}
MIN_VISIBLE = 0.5


def deepforest_data() -> str:
    spec = importlib.util.find_spec('deepforest')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError('the deepforest wheel is not installed: '
                                'pip install --no-deps deepforest==2.1.0')
    return osp.join(spec.submodule_search_locations[0], 'data')


def read_boxes(xml_file: str):
    try:
        root = ET.parse(xml_file).getroot()
    except (ET.ParseError, OSError) as err:
        raise ValueError(f'{xml_file} is not a readable VOC XML file: {err}') from err
    boxes = []
    for obj in root.iter('object'):
        box = obj.find('bndbox')
        if box is None:
            raise ValueError(f'{xml_file}: an <object> has no <bndbox>')
        boxes.append(tuple(float(box.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')))
    return boxes


def starts(length: int, tile: int):
    """Crop origins along one axis: a regular grid without overlap (no tree twice)."""
    return list(range(0, length, tile))


def tile_boxes(boxes, x0: int, y0: int, tile: int):
    """Boxes clipped to the crop at (x0, y0): ``(xmin, ymin, xmax, ymax, difficult)``."""
    out = []
    for xmin, ymin, xmax, ymax in boxes:
        cx0, cy0 = max(xmin, x0), max(ymin, y0)
        cx1, cy1 = min(xmax, x0 + tile - 1), min(ymax, y0 + tile - 1)
        if cx1 - cx0 < 2 or cy1 - cy0 < 2:
            continue
        visible = (cx1 - cx0) * (cy1 - cy0) / max((xmax - xmin) * (ymax - ymin), 1e-6)
        out.append((cx0 - x0, cy0 - y0, cx1 - x0, cy1 - y0, int(visible < MIN_VISIBLE)))
    return out


def write_xml(path: str, filename: str, tile: int, boxes) -> None:
    objects = ''.join(
        f'<object><name>Tree</name><difficult>{d}</difficult><bndbox>'
        f'<xmin>{x0:.0f}</xmin><ymin>{y0:.0f}</ymin><xmax>{x1:.0f}</xmax><ymax>{y1:.0f}</ymax>'
        f'</bndbox></object>' for x0, y0, x1, y1, d in boxes)
    with open(path, 'w') as f:
        f.write(f'<annotation><filename>{filename}</filename><size><width>{tile}</width>'
                f'<height>{tile}</height><depth>3</depth></size>{objects}</annotation>\n')


def tile_deepforest(out_dir: str, tile: int = 400, src: str = None) -> dict:
    """Write the tiled set; returns the number of images and boxes per split."""
    src = src or deepforest_data()
    voc = osp.join(out_dir, 'VOC2007')
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        os.makedirs(osp.join(voc, sub), exist_ok=True)
    ids = {'trainval': [], 'test': []}
    counts = {'trainval': 0, 'test': 0}
    for stem, split in SOURCES.items():
        image_file = osp.join(src, stem + '.png')
        if not osp.isfile(image_file):
            raise FileNotFoundError(f'{image_file} not found: is deepforest 2.1.0 installed?')
        image = Image.open(image_file).convert('RGB')
        boxes = read_boxes(osp.join(src, stem + '.xml'))
        width, height = image.size
        for y0 in starts(height, tile):
            for x0 in starts(width, tile):
                kept = tile_boxes(boxes, x0, y0, tile)
                if not kept:
                    continue
                name = f'{stem}_{x0}_{y0}'
                image.crop((x0, y0, x0 + tile, y0 + tile)).save(
                    osp.join(voc, 'JPEGImages', name + '.jpg'), quality=95)
                write_xml(osp.join(voc, 'Annotations', name + '.xml'), name + '.jpg', tile,
                          kept)
                ids[split].append(name)
                counts[split] += sum(1 for b in kept if not b[4])
    for split, names in ids.items():
        with open(osp.join(voc, 'ImageSets/Main', split + '.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    summary = {split: dict(images=len(ids[split]), boxes=counts[split]) for split in ids}
    with open(osp.join(voc, 'mmkd_dataset.json'), 'w') as f:
        json.dump(dict(source='deepforest 2.1.0', tile=tile, splits=summary), f, indent=1)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--tile', type=int, default=400)
    args = parser.parse_args()
    summary = tile_deepforest(args.out_dir, args.tile)
    for split, info in summary.items():
        print(f"{split}: {info['images']} images, {info['boxes']} trees "
              f"(plus cut-off ones marked difficult)")


if __name__ == '__main__':
    main()
