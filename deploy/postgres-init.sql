-- Databases of the scaled topology (the same three bot/scaled/_topology.py creates).
CREATE DATABASE tracker;
CREATE DATABASE support;
CREATE DATABASE shop;
